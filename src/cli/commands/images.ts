/** Image commands: images, image inspect, inspect, rmi, tag, history, image prune (import, load, save: image-archives.ts). */
import { ApiError } from '../../client/client.js';
import { encodeFilters } from '../../core/filters.js';
import { parseReference, familiarName } from '../../core/reference.js';
import { CliExit, type Command } from '../cli.js';
import { confirm } from './confirm.js';
import { daemonNotFound, printInspect } from './inspect-each.js';
import { formatRows, listFormat } from '../format/formatter.js';
import { humanSize, createdSince } from '../format/units.js';
import { ellipsis, goTimeUTC } from '../format/columns.js';

interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: number;
  Size: number;
  SharedSize: number;
  Labels: Record<string, string> | null;
  Containers: number;
}

const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);
const filterFlag = { name: 'filter', short: 'f', type: 'strings' as const, help: 'Filter output based on conditions provided' };
const formatFlag = (help: string) => ({ name: 'format', type: 'string' as const, help });

/** One row per repository:tag as docker's `images` prints; untagged images as <none>. */
function imageRows(list: ImageSummary[], noTrunc: boolean) {
  const rows = [];
  for (const img of list) {
    const id = noTrunc ? img.Id : shortId(img.Id);
    const base = {
      ID: id,
      CreatedSince: createdSince(img.Created),
      CreatedAt: goTimeUTC(new Date(img.Created * 1000)),
      Size: humanSize(img.Size),
      VirtualSize: humanSize(img.Size),
      SharedSize: img.SharedSize < 0 ? 'N/A' : humanSize(img.SharedSize),
      UniqueSize: 'N/A',
      Containers: img.Containers < 0 ? 'N/A' : String(img.Containers),
      Labels: img.Labels ?? {},
    };
    const digests = new Map<string, string>(); // repo → digest
    for (const d of img.RepoDigests ?? []) {
      const at = d.lastIndexOf('@');
      if (at > 0) digests.set(d.slice(0, at), d.slice(at + 1));
    }
    const tags = (img.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
    if (tags.length === 0) {
      const [repo, digest] = digests.size ? [...digests.entries()][0] : ['<none>', '<none>'];
      rows.push({ ...base, Repository: repo, Tag: '<none>', Digest: digest });
      continue;
    }
    for (const t of tags) {
      const colon = t.lastIndexOf(':');
      const repo = t.slice(0, colon);
      rows.push({ ...base, Repository: repo, Tag: t.slice(colon + 1), Digest: digests.get(repo) ?? '<none>' });
    }
  }
  return rows;
}

const IMAGE_HEADERS = {
  ID: 'IMAGE ID',
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  VirtualSize: 'VIRTUAL SIZE',
  SharedSize: 'SHARED SIZE',
  UniqueSize: 'UNIQUE SIZE',
  Containers: 'CONTAINERS',
};

export const list: Command = {
  usage: 'images [OPTIONS] [REPOSITORY[:TAG]]',
  summary: 'List images',
  args: { max: 1 },
  flags: [
    { name: 'all', short: 'a', type: 'bool', help: 'Show all images (default hides intermediate images)' },
    { name: 'digests', type: 'bool', help: 'Show digests' },
    filterFlag,
    formatFlag(
      "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template",
    ),
    { name: 'no-trunc', type: 'bool', help: "Don't truncate output" },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Only show image IDs' },
  ],
  async run(cli, args, f) {
    const filters = [...(f.filter as string[])];
    if (args[0]) filters.push(`reference=${args[0]}`);
    const client = await cli.client();
    const images = await client.json<ImageSummary[]>('GET', '/images/json', {
      query: { all: f.all as boolean, filters: filters.length ? encodeFilters(filters) : undefined },
    });
    const rows = imageRows(images, f['no-trunc'] as boolean);
    if (f.quiet) {
      const seen = new Set<string>();
      for (const r of rows)
        if (!seen.has(r.ID)) {
          seen.add(r.ID);
          cli.out(r.ID + '\n');
        }
      return;
    }
    const def = f.digests
      ? 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}'
      : 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
    const format = listFormat(f.format as string | undefined, def);
    cli.out(formatRows(format, rows, IMAGE_HEADERS));
  },
};

export const inspect: Command = {
  usage: 'image inspect [OPTIONS] IMAGE [IMAGE...]',
  summary: 'Display detailed information on one or more images',
  args: { min: 1 },
  flags: [{ name: 'format', short: 'f', type: 'string', help: 'Format output using a custom template' }],
  async run(cli, args, f) {
    const client = await cli.client();
    return printInspect(cli, args, f.format as string | undefined, (n) => client.json('GET', `/images/${encodeURIComponent(n)}/json`), daemonNotFound);
  },
};

export const inspectAny: Command = {
  usage: 'inspect [OPTIONS] NAME|ID [NAME|ID...]',
  summary: 'Return low-level information on Berth objects',
  args: { min: 1 },
  flags: [
    { name: 'format', short: 'f', type: 'string', help: 'Format output using a custom template' },
    { name: 'type', type: 'string', help: 'Return JSON for specified type' },
    { name: 'size', short: 's', type: 'bool', help: 'Display total file sizes if the type is container' },
  ],
  async run(cli, args, f) {
    const type = f.type as string | undefined;
    if (type && type !== 'image' && type !== 'container' && type !== 'network') throw new CliExit(1, `"${type}" is not a valid value for --type`);
    const client = await cli.client();
    // Like docker: a container by that name or ID first, then an image.
    const get = async (n: string) => {
      if (type !== 'image' && type !== 'network') {
        try {
          return await client.json('GET', `/containers/${encodeURIComponent(n)}/json`, { query: { size: f.size ? 1 : undefined } });
        } catch (e) {
          if (!(e instanceof ApiError && e.status === 404) || type === 'container') throw e;
        }
      }
      if (type === 'network') return client.json('GET', `/networks/${encodeURIComponent(n)}`);
      try {
        return await client.json('GET', `/images/${encodeURIComponent(n)}/json`);
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 404) || type === 'image') throw e;
      }
      return client.json('GET', `/networks/${encodeURIComponent(n)}`);
    };
    return printInspect(cli, args, f.format as string | undefined, get, (n) => `Error: No such object: ${n}`);
  },
};

export const remove: Command = {
  usage: 'rmi [OPTIONS] IMAGE [IMAGE...]',
  summary: 'Remove one or more images',
  args: { min: 1 },
  flags: [
    { name: 'force', short: 'f', type: 'bool', help: 'Force removal of the image' },
    { name: 'no-prune', type: 'bool', help: 'Do not delete untagged parents' },
  ],
  async run(cli, args, f) {
    const client = await cli.client();
    let failed = false;
    for (const name of args) {
      try {
        const items = await client.json<{ Untagged?: string; Deleted?: string }[]>('DELETE', `/images/${encodeURIComponent(name)}`, {
          query: { force: f.force as boolean, noprune: f['no-prune'] as boolean },
        });
        for (const it of items) cli.out(it.Untagged ? `Untagged: ${it.Untagged}\n` : `Deleted: ${it.Deleted}\n`);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        cli.err(`Error response from daemon: ${err.message}\n`);
        failed = true;
      }
    }
    return failed ? 1 : 0;
  },
};

export const tag: Command = {
  usage: 'tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  summary: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  args: { min: 2, max: 2 },
  flags: [],
  async run(cli, [source, target]) {
    let ref;
    try {
      ref = parseReference(target);
    } catch (e) {
      throw new CliExit(1, `Error parsing reference: "${target}" is not a valid repository/tag: ${(e as Error).message}`);
    }
    if (ref.digest) throw new CliExit(1, 'refusing to create a tag with a digest reference');
    const repo = ref.domain === 'docker.io' ? familiarName(ref) : `${ref.domain}/${ref.path}`;
    const client = await cli.client();
    (await client.request('POST', `/images/${encodeURIComponent(source)}/tag`, { query: { repo, tag: ref.tag ?? 'latest' } })).resume();
  },
};

export const history: Command = {
  usage: 'history [OPTIONS] IMAGE',
  summary: 'Show the history of an image',
  args: { min: 1, max: 1 },
  flags: [
    formatFlag('Format output using a custom template'),
    { name: 'human', short: 'H', type: 'bool', default: true, help: 'Print sizes and dates in human readable format' },
    { name: 'no-trunc', type: 'bool', help: "Don't truncate output" },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Only show image IDs' },
  ],
  async run(cli, [name], f) {
    const client = await cli.client();
    type H = { Id: string; Created: number; CreatedBy: string; Tags: string[] | null; Size: number; Comment: string };
    const rows = await client.json<H[]>('GET', `/images/${encodeURIComponent(name)}/history`);
    const noTrunc = f['no-trunc'] as boolean;
    const human = f.human as boolean;
    const out = rows.map((h) => ({
      ID: h.Id === '<missing>' || noTrunc ? h.Id : shortId(h.Id),
      CreatedSince: human ? createdSince(h.Created) : new Date(h.Created * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
      CreatedAt: new Date(h.Created * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
      CreatedBy: noTrunc ? h.CreatedBy.replace(/\t/g, ' ') : ellipsis(h.CreatedBy.replace(/\t/g, ' '), 45),
      Size: human ? humanSize(h.Size) : String(h.Size),
      Comment: h.Comment,
      Tags: h.Tags ?? [],
    }));
    if (f.quiet) {
      for (const r of out) cli.out(r.ID + '\n');
      return;
    }
    const def = 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';
    const format = listFormat(f.format as string | undefined, def);
    cli.out(
      formatRows(format, out, { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' }),
    );
  },
};

export const prune: Command = {
  usage: 'image prune [OPTIONS]',
  summary: 'Remove unused images',
  args: { max: 0 },
  flags: [
    { name: 'all', short: 'a', type: 'bool', help: 'Remove all unused images, not just dangling ones' },
    { name: 'filter', type: 'strings', help: 'Provide filter values (e.g. "until=<timestamp>")' },
    { name: 'force', short: 'f', type: 'bool', help: 'Do not prompt for confirmation' },
  ],
  async run(cli, _args, f) {
    const warning = f.all
      ? 'WARNING! This will remove all images without at least one container associated to them.'
      : 'WARNING! This will remove all dangling images.';
    if (!f.force && !(await confirm(cli, warning))) return;
    const filters = [...(f.filter as string[])];
    filters.push(`dangling=${f.all ? 'false' : 'true'}`);
    const client = await cli.client();
    const r = await client.json<{ ImagesDeleted: { Untagged?: string; Deleted?: string }[] | null; SpaceReclaimed: number }>('POST', '/images/prune', {
      query: { filters: encodeFilters(filters) },
    });
    if (r.ImagesDeleted?.length) {
      cli.out('Deleted Images:\n');
      for (const it of r.ImagesDeleted) cli.out(it.Untagged ? `untagged: ${it.Untagged}\n` : `deleted: ${it.Deleted}\n`);
      cli.out('\n');
    }
    cli.out(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
  },
};
