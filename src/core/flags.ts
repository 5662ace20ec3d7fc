/**
 * Command-line flags with pflag's rules, as docker and dockerd parse them:
 * `--name=value`, `--name value`, `-n value`, `-nvalue`, grouped booleans
 * (`-aq`), `--` ends flags, and optionally flags stop at the first argument
 * (for commands like `run IMAGE CMD…` whose command has flags of its own).
 */
export type FlagType = 'bool' | 'string' | 'strings' | 'int';

export interface FlagDef {
  name: string;
  short?: string;
  type: FlagType;
  default?: string | boolean | number | string[];
  help?: string;
  /** Placeholder in help output, e.g. "string". */
  hidden?: boolean;
}

export type FlagValues = Record<string, string | boolean | number | string[] | undefined>;

export class FlagError extends Error {}

export interface Parsed {
  flags: FlagValues;
  args: string[];
  set: Set<string>;
}

export function parseFlags(argv: string[], defs: FlagDef[], opts: { interspersed?: boolean } = {}): Parsed {
  const interspersed = opts.interspersed ?? true;
  const byName = new Map(defs.map((d) => [d.name, d]));
  const byShort = new Map(defs.filter((d) => d.short).map((d) => [d.short!, d]));
  const flags: FlagValues = {};
  const set = new Set<string>();
  for (const d of defs) flags[d.name] = d.type === 'strings' ? [...((d.default as string[] | undefined) ?? [])] : d.default;
  const args: string[] = [];

  const assign = (d: FlagDef, raw: string | undefined, shown: string) => {
    if (d.type === 'bool') {
      if (raw === undefined || raw === 'true' || raw === '1') flags[d.name] = true;
      else if (raw === 'false' || raw === '0') flags[d.name] = false;
      else throw new FlagError(`invalid argument "${raw}" for "${shown}" flag: strconv.ParseBool: parsing "${raw}": invalid syntax`);
    } else if (d.type === 'int') {
      const n = Number(raw);
      if (raw === undefined || raw === '' || !Number.isInteger(n))
        throw new FlagError(`invalid argument "${raw}" for "${shown}" flag: strconv.ParseInt: parsing "${raw}": invalid syntax`);
      flags[d.name] = n;
    } else if (d.type === 'strings') {
      if (!set.has(d.name)) flags[d.name] = [];
      (flags[d.name] as string[]).push(raw ?? '');
    } else flags[d.name] = raw;
    set.add(d.name);
  };

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const name = eq === -1 ? a.slice(2) : a.slice(2, eq);
      const d = byName.get(name);
      if (!d) throw new FlagError(`unknown flag: --${name}`);
      let raw: string | undefined = eq === -1 ? undefined : a.slice(eq + 1);
      if (raw === undefined && d.type !== 'bool') {
        if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: --${name}`);
        raw = argv[++i];
      }
      assign(d, raw, `--${name}`);
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j];
        const d = byShort.get(c);
        if (!d) throw new FlagError(`unknown shorthand flag: '${c}' in ${a}`);
        const shown = `-${c}, --${d.name}`;
        if (d.type === 'bool') {
          if (a[j + 1] === '=') {
            assign(d, a.slice(j + 2), shown);
            break;
          }
          assign(d, undefined, shown);
          continue;
        }
        let raw = a.slice(j + 1);
        if (raw.startsWith('=')) raw = raw.slice(1);
        else if (raw === '') {
          if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: '${c}' in ${a}`);
          raw = argv[++i];
        }
        assign(d, raw, shown);
        break;
      }
      continue;
    }
    if (!interspersed) {
      args.push(...argv.slice(i));
      break;
    }
    args.push(a);
  }
  return { flags, args, set };
}

/** Help text for flag definitions, in docker's layout. */
export function flagHelp(defs: FlagDef[]): string {
  const rows = defs
    .filter((d) => !d.hidden)
    .map((d) => {
      const left = `${d.short ? `-${d.short}, ` : '    '}--${d.name}${d.type === 'bool' ? '' : d.type === 'int' ? ' int' : d.type === 'strings' ? ' list' : ' string'}`;
      return [left, d.help ?? ''];
    });
  const w = Math.max(0, ...rows.map((r) => r[0].length));
  return rows.map(([l, h]) => `  ${l.padEnd(w)}   ${h}`).join('\n');
}
