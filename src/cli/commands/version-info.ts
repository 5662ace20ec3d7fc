/** `version` and `info`: what the client and the daemon say about themselves, as docker lays it out (or through --format). */
import { API_VERSION, BERTH_VERSION, MIN_API_VERSION } from '../../core/version.js';
import { ConnectError } from '../../client/client.js';
import { CliExit, type Command } from '../cli.js';
import { renderOne } from '../format/formatter.js';
import { TemplateError } from '../format/template/index.js';
import { bytesSize } from '../format/units.js';

const goArch = () => (process.arch === 'x64' ? 'amd64' : process.arch);

/**
 * A Go struct for `--format`: templates reach its fields by their Go names
 * (`.Server.APIVersion`), `{{json .}}` prints their JSON names (`ApiVersion`),
 * and a field it lacks is docker's "can't evaluate field" error.
 */
const GO_TYPES = new WeakMap<object, string>();
function goStruct(type: string, fields: Record<string, unknown>, jsonNames: Record<string, string> = {}, omitEmpty: string[] = []): Record<string, unknown> {
  const proto = {
    toJSON() {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(fields)) {
        if (omitEmpty.includes(k) && (v === undefined || v === '' || v === false || (v && typeof v === 'object' && Object.values(v).every((x) => x === ''))))
          continue;
        out[jsonNames[k] ?? k] = v;
      }
      return out;
    },
  };
  const o = Object.assign(Object.create(proto) as Record<string, unknown>, fields);
  GO_TYPES.set(o, type);
  return o;
}

export const version: Command = {
  usage: 'version [OPTIONS]',
  summary: 'Show the Berth version information',
  args: { max: 0 },
  flags: [{ name: 'format', short: 'f', type: 'string', help: 'Format output using a custom template' }],
  async run(cli, _args, f) {
    const clientInfo = goStruct(
      'system.clientVersion',
      {
        Platform: { Name: 'Berth' },
        Version: BERTH_VERSION,
        APIVersion: API_VERSION,
        DefaultAPIVersion: API_VERSION,
        GitCommit: 'berth',
        GoVersion: `node${process.versions.node}`,
        Os: 'linux',
        Arch: goArch(),
        BuildTime: '',
        Context: cli.contextName,
      },
      { APIVersion: 'ApiVersion' },
      ['Platform'],
    );
    let server: Record<string, unknown> | undefined;
    let connectError: Error | undefined;
    try {
      server = await (await cli.client()).json<Record<string, unknown>>('GET', '/version');
    } catch (err) {
      if (!(err instanceof ConnectError)) throw err;
      connectError = err;
    }
    if (f.format) {
      const s =
        server &&
        goStruct(
          '*types.Version',
          {
            Platform: server.Platform ?? { Name: '' },
            Components: server.Components ?? null,
            Version: server.Version,
            APIVersion: server.ApiVersion,
            MinAPIVersion: server.MinAPIVersion,
            GitCommit: server.GitCommit,
            GoVersion: server.GoVersion,
            Os: server.Os,
            Arch: server.Arch,
            KernelVersion: server.KernelVersion,
            Experimental: server.Experimental ?? false,
            BuildTime: server.BuildTime,
          },
          { APIVersion: 'ApiVersion' },
          ['Experimental', 'KernelVersion', 'BuildTime'],
        );
      const data = goStruct('system.versionInfo', { Client: clientInfo, Server: s ?? null });
      try {
        cli.out(renderOne(f.format as string, data, { name: 'version', structType: (o) => GO_TYPES.get(o) }) + '\n');
      } catch (err) {
        if (err instanceof TemplateError) {
          cli.out('\n');
          throw new CliExit(1, err.goMessage);
        }
        throw err;
      }
    } else {
      cli.out(
        `Client:\n Version:           ${BERTH_VERSION}\n API version:       ${API_VERSION}\n Go version:        ${clientInfo.GoVersion}\n Git commit:        berth\n Built:             \n OS/Arch:           linux/${goArch()}\n Context:           ${cli.contextName}\n`,
      );
      if (server) {
        cli.out(
          `\nServer: ${(server.Platform as { Name: string }).Name}\n Engine:\n  Version:          ${server.Version}\n  API version:      ${server.ApiVersion} (minimum version ${server.MinAPIVersion ?? MIN_API_VERSION})\n  Go version:       ${server.GoVersion}\n  Git commit:       ${server.GitCommit}\n  Built:            ${server.BuildTime}\n  OS/Arch:          ${server.Os}/${server.Arch}\n  Experimental:     false\n`,
        );
      }
    }
    if (connectError) throw new CliExit(1, connectError.message);
  },
};

export const info: Command = {
  usage: 'info [OPTIONS]',
  summary: 'Display system-wide information',
  args: { max: 0 },
  flags: [{ name: 'format', short: 'f', type: 'string', help: 'Format output using a custom template' }],
  async run(cli, _args, f) {
    const i = await (await cli.client()).json<InfoReply>('GET', '/info');
    if (f.format) {
      cli.out(renderOne(f.format as string, i) + '\n');
      return;
    }
    cli.out(infoText(i, cli.contextName));
    if (Array.isArray(i.Warnings)) for (const w of i.Warnings as string[]) cli.err(w + '\n');
  },
};

/** `name=seccomp,profile=default` → docker's "  seccomp\n   Profile: default". */
function securityOptionLines(opts: string[]): string[] {
  const out: string[] = [];
  for (const o of opts) {
    const kv = o.split(',').map((x) => {
      const i = x.indexOf('=');
      return i < 0 ? [x, ''] : [x.slice(0, i), x.slice(i + 1)];
    });
    const name = kv.find(([k]) => k === 'name')?.[1] ?? o;
    out.push(`  ${name}`);
    for (const [k, v] of kv) if (k !== 'name') out.push(`   ${k!.charAt(0).toUpperCase()}${k!.slice(1)}: ${v}`);
  }
  return out;
}

/** GET /info's answer, read field by field as docker's info reads whatever the daemon sent. */
// biome-ignore lint/suspicious/noExplicitAny: dozens of optional, nested fields printed as they come; a missing one prints as docker's does.
type InfoReply = Record<string, any>;

/** `info` without --format, laid out line for line as docker's info prints a daemon's answer. */
export function infoText(i: InfoReply, context: string): string {
  const reg = i.RegistryConfig ?? {};
  const insecure: string[] = [
    ...Object.values((reg.IndexConfigs ?? {}) as Record<string, { Name: string; Secure: boolean }>)
      .filter((x) => !x.Secure)
      .map((x) => x.Name),
    ...((reg.InsecureRegistryCIDRs ?? []) as string[]),
  ];
  const mirrors: string[] = reg.Mirrors ?? [];
  const runtimes = Object.keys(i.Runtimes ?? {}).sort();
  const lines = [
    'Client:',
    ` Version:    ${BERTH_VERSION}`,
    ` Context:    ${context}`,
    ' Debug Mode: false',
    '',
    'Server:',
    ` Containers: ${i.Containers}`,
    `  Running: ${i.ContainersRunning}`,
    `  Paused: ${i.ContainersPaused}`,
    `  Stopped: ${i.ContainersStopped}`,
    ` Images: ${i.Images}`,
    ` Server Version: ${i.ServerVersion}`,
    ` Storage Driver: ${i.Driver}`,
    ...((i.DriverStatus ?? []) as string[][]).map(([k, v]) => `  ${k}: ${v}`),
    ` Logging Driver: ${i.LoggingDriver}`,
    ` Cgroup Driver: ${i.CgroupDriver}`,
    ` Cgroup Version: ${i.CgroupVersion}`,
    ' Plugins:',
    `  Volume: ${(i.Plugins?.Volume ?? []).join(' ')}`,
    `  Network: ${(i.Plugins?.Network ?? []).join(' ')}`,
    `  Log: ${(i.Plugins?.Log ?? []).join(' ')}`,
    ...(i.Plugins?.Authorization?.length ? [`  Authorization: ${i.Plugins.Authorization.join(' ')}`] : []),
    ` Swarm: ${i.Swarm?.LocalNodeState ?? 'inactive'}`,
    ...(runtimes.length ? [` Runtimes: ${runtimes.join(' ')}`] : []),
    ` Default Runtime: ${i.DefaultRuntime}`,
    ` Init Binary: ${i.InitBinary}`,
    ` containerd version: ${i.ContainerdCommit?.ID ?? ''}`,
    ` runc version: ${i.RuncCommit?.ID ?? ''}`,
    ` init version: ${i.InitCommit?.ID ?? ''}`,
    ...(i.SecurityOptions?.length ? [' Security Options:', ...securityOptionLines(i.SecurityOptions)] : []),
    ` Kernel Version: ${i.KernelVersion}`,
    ` Operating System: ${i.OperatingSystem}`,
    ` OSType: ${i.OSType}`,
    ` Architecture: ${i.Architecture}`,
    ` CPUs: ${i.NCPU}`,
    ` Total Memory: ${bytesSize(i.MemTotal)}`,
    ` Name: ${i.Name}`,
    ` ID: ${i.ID}`,
    ` Docker Root Dir: ${i.DockerRootDir}`,
    ` Debug Mode: ${i.Debug}`,
    ...(i.HttpProxy ? [` HTTP Proxy: ${i.HttpProxy}`] : []),
    ...(i.HttpsProxy ? [` HTTPS Proxy: ${i.HttpsProxy}`] : []),
    ...(i.NoProxy ? [` No Proxy: ${i.NoProxy}`] : []),
    ...(i.Labels?.length ? [' Labels:', ...(i.Labels as string[]).map((l) => `  ${l}`)] : []),
    ` Experimental: ${i.ExperimentalBuild === true}`,
    ...(insecure.length ? [' Insecure Registries:', ...insecure.map((x) => `  ${x}`)] : []),
    ...(mirrors.length ? [' Registry Mirrors:', ...mirrors.map((x) => `  ${x}`)] : []),
    ` Live Restore Enabled: ${i.LiveRestoreEnabled}`,
    ...(i.DefaultAddressPools?.length
      ? [' Default Address Pools:', ...(i.DefaultAddressPools as Array<{ Base: string; Size: number }>).map((p) => `   Base: ${p.Base}, Size: ${p.Size}`)]
      : []),
    '',
  ];
  return lines.join('\n') + '\n';
}
