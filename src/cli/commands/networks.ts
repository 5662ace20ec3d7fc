/** `network` commands and `port`: clients of the /networks and /containers routes, with docker's output. */
import { ApiError } from '../../client/client.js';
import { encodeFilters } from '../../core/filters.js';
import { CliExit, type Cli, type Command } from '../cli.js';
import { formatRows } from '../format/formatter.js';
import { goTimeUTC, labelsText } from '../format/columns.js';
import { confirm } from './confirm.js';
import { inspectEach } from './inspect-each.js';
import { daemonError } from './daemon-error.js';
import { keyValues } from './key-values.js';

interface NetworkEntry {
  Id: string;
  Name: string;
  Driver: string;
  Scope: string;
  Created: string;
  EnableIPv6: boolean;
  Internal: boolean;
  Labels: Record<string, string> | null;
}

export const create: Command = {
  usage: 'network create [OPTIONS] NETWORK',
  summary: 'Create a network',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'driver', short: 'd', type: 'string', help: 'Driver to manage the Network', default: 'bridge' },
    { name: 'subnet', type: 'strings', help: 'Subnet in CIDR format that represents a network segment' },
    { name: 'gateway', type: 'strings', help: 'IPv4 or IPv6 Gateway for the master subnet' },
    { name: 'ip-range', type: 'strings', help: 'Allocate container ip from a sub-range' },
    { name: 'internal', type: 'bool', help: 'Restrict external access to the network' },
    { name: 'attachable', type: 'bool', help: 'Enable manual container attachment' },
    { name: 'label', type: 'strings', help: 'Set metadata on a network' },
    { name: 'opt', short: 'o', type: 'strings', help: 'Set driver specific options' },
    { name: 'ipam-driver', type: 'string', help: 'IP Address Management Driver', default: 'default' },
    { name: 'ipv6', type: 'bool', help: 'Enable or disable IPv6 networking' },
  ],
  async run(cli, args, f) {
    const subnets = f.subnet as string[];
    const gateways = f.gateway as string[];
    const ranges = f['ip-range'] as string[];
    if (gateways.length > subnets.length || ranges.length > subnets.length) {
      throw new CliExit(
        1,
        subnets.length ? 'every ip-range or gateway must have a corresponding subnet' : 'every ip-range or gateway must have a corresponding subnet',
      );
    }
    const config = subnets.map((s, i) => ({ Subnet: s, ...(gateways[i] ? { Gateway: gateways[i] } : {}), ...(ranges[i] ? { IPRange: ranges[i] } : {}) }));
    const client = await cli.client();
    const r = await client
      .json<{ Id: string }>('POST', '/networks/create', {
        body: {
          Name: args[0],
          Driver: f.driver,
          Internal: !!f.internal,
          Attachable: !!f.attachable,
          EnableIPv6: !!f.ipv6,
          IPAM: { Driver: f['ipam-driver'], Config: config, Options: {} },
          Options: keyValues(f.opt as string[]),
          Labels: keyValues(f.label as string[]),
        },
      })
      .catch(daemonError);
    cli.out(`${r.Id}\n`);
  },
};

export const list: Command = {
  usage: 'network ls [OPTIONS]',
  summary: 'List networks',
  args: { max: 0 },
  flags: [
    { name: 'filter', short: 'f', type: 'strings', help: 'Provide filter values (e.g. "driver=bridge")' },
    { name: 'format', type: 'string', help: 'Format output using a custom template' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Only display network IDs' },
    { name: 'no-trunc', type: 'bool', help: 'Do not truncate the output' },
  ],
  async run(cli, _args, f) {
    const client = await cli.client();
    const nets = await client.json<NetworkEntry[]>('GET', '/networks', { query: { filters: encodeFilters(f.filter as string[]) } }).catch(daemonError);
    nets.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
    const noTrunc = !!f['no-trunc'];
    const format = f.format as string | undefined;
    const rows = nets.map((n) => ({
      ID: noTrunc ? n.Id : n.Id.slice(0, 12),
      Name: n.Name,
      Driver: n.Driver,
      Scope: n.Scope,
      IPv6: String(n.EnableIPv6),
      Internal: String(n.Internal),
      CreatedAt: goTimeUTC(new Date(n.Created)),
      Labels: labelsText(n.Labels),
    }));
    let fmt = format || 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';
    if (f.quiet) fmt = '{{.ID}}';
    cli.out(
      formatRows(
        fmt,
        rows,
        { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', Internal: 'INTERNAL', CreatedAt: 'CREATED AT', Labels: 'LABELS' },
        { contextType: '*formatter.networkContext' },
      ),
    );
  },
};

export const inspect: Command = {
  usage: 'network inspect [OPTIONS] NETWORK [NETWORK...]',
  summary: 'Display detailed information on one or more networks',
  args: { min: 1 },
  flags: [
    { name: 'format', short: 'f', type: 'string', help: 'Format output using a custom template' },
    { name: 'verbose', short: 'v', type: 'bool', help: 'Verbose output for diagnostics' },
  ],
  async run(cli, args, f) {
    return inspectEach(cli, args, f.format as string | undefined, (n) => `/networks/${encodeURIComponent(n)}`);
  },
};

export const remove: Command = {
  usage: 'network rm NETWORK [NETWORK...]',
  summary: 'Remove one or more networks',
  args: { min: 1 },
  flags: [{ name: 'force', short: 'f', type: 'bool', help: 'Do not error if the network does not exist' }],
  async run(cli, args, f) {
    const client = await cli.client();
    let failed = false;
    for (const n of args) {
      try {
        await client.json('DELETE', `/networks/${encodeURIComponent(n)}`);
        cli.out(`${n}\n`);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        if (f.force && e.status === 404) continue;
        cli.err(`Error response from daemon: ${e.message}\n`);
        failed = true;
      }
    }
    return failed ? 1 : 0;
  },
};

export const prune: Command = {
  usage: 'network prune [OPTIONS]',
  summary: 'Remove all unused networks',
  args: { max: 0 },
  flags: [
    { name: 'force', short: 'f', type: 'bool', help: 'Do not prompt for confirmation' },
    { name: 'filter', type: 'strings', help: 'Provide filter values (e.g. "until=<timestamp>")' },
  ],
  async run(cli, _args, f) {
    if (!f.force && !(await confirm(cli, 'WARNING! This will remove all custom networks not used by at least one container.'))) return;
    const client = await cli.client();
    const r = await client
      .json<{ NetworksDeleted: string[] | null }>('POST', '/networks/prune', { query: { filters: encodeFilters(f.filter as string[]) } })
      .catch(daemonError);
    if (r.NetworksDeleted?.length) cli.out(`Deleted Networks:\n${r.NetworksDeleted.join('\n')}\n\n`);
  },
};

export const connect: Command = {
  usage: 'network connect [OPTIONS] NETWORK CONTAINER',
  summary: 'Connect a container to a network',
  args: { min: 2, max: 2 },
  flags: [
    { name: 'ip', type: 'string', help: 'IPv4 address (e.g., "172.30.100.104")' },
    { name: 'alias', type: 'strings', help: 'Add network-scoped alias for the container' },
  ],
  async run(cli, args, f) {
    const client = await cli.client();
    const aliases = f.alias as string[];
    await client
      .json('POST', `/networks/${encodeURIComponent(args[0]!)}/connect`, {
        body: { Container: args[1], EndpointConfig: { Aliases: aliases.length ? aliases : null, IPAMConfig: f.ip ? { IPv4Address: f.ip } : null } },
      })
      .catch(daemonError);
  },
};

export const disconnect: Command = {
  usage: 'network disconnect [OPTIONS] NETWORK CONTAINER',
  summary: 'Disconnect a container from a network',
  args: { min: 2, max: 2 },
  flags: [{ name: 'force', short: 'f', type: 'bool', help: 'Force the container to disconnect from a network' }],
  async run(cli, args, f) {
    const client = await cli.client();
    await client.json('POST', `/networks/${encodeURIComponent(args[0]!)}/disconnect`, { body: { Container: args[1], Force: !!f.force } }).catch(daemonError);
  },
};

type PortMap = Record<string, Array<{ HostIp: string; HostPort: string }> | null>;

export const port: Command = {
  usage: 'port CONTAINER [PRIVATE_PORT[/PROTO]]',
  summary: 'List port mappings or a specific mapping for the container',
  args: { min: 1, max: 2 },
  flags: [],
  async run(cli: Cli, args) {
    const client = await cli.client();
    const c = await client
      .json<{ Name: string; NetworkSettings: { Ports: PortMap | null } }>('GET', `/containers/${encodeURIComponent(args[0]!)}/json`)
      .catch(daemonError);
    const ports = c.NetworkSettings.Ports ?? {};
    const addr = (b: { HostIp: string; HostPort: string }) => `${b.HostIp.includes(':') ? `[${b.HostIp}]` : b.HostIp}:${b.HostPort}`;
    if (args[1]) {
      const [p, proto = 'tcp'] = args[1].split('/');
      if (!/^\d+$/.test(p!)) throw new CliExit(1, `Error: invalid port (${p}): strconv.ParseUint: parsing "${p}": invalid syntax`);
      const list = ports[`${p}/${proto}`];
      if (!list?.length) throw new CliExit(1, `Error: No public port '${p}/${proto}' published for ${args[0]}`);
      for (const b of list) cli.out(`${addr(b)}\n`);
      return;
    }
    const keys = Object.keys(ports).sort((a, b) => Number(a.split('/')[0]) - Number(b.split('/')[0]) || (a < b ? -1 : 1));
    const lines: string[] = [];
    for (const k of keys) for (const b of ports[k] ?? []) lines.push(`${k} -> ${addr(b)}`);
    lines.sort();
    for (const l of lines) cli.out(`${l}\n`);
  },
};
