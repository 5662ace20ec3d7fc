/**
 * `berth registry replicate --once` and `berth registry retention`: run the
 * replication and retention rules of a registry's config file by hand, on its
 * root, printing what they copy or delete. (Inside `registry serve` the same
 * rules run on their schedules and on push events.)
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CliExit, type Command } from '../cli.js';
import { setLogLevel } from '../../core/log.js';
import { loadConfig, ConfigError, type RegistryConfig } from '../../registry/config.js';
import { openStorage } from '../../registry/storage.js';
import { Replicator } from '../../registry/replication/runner.js';
import { applyRetention } from '../../registry/retention.js';
import { collectGarbage } from '../../registry/gc.js';
import { closeAgents } from '../../distribution/http.js';

function load(cmd: string, config: string | undefined, root: string | undefined): RegistryConfig {
  try {
    const cfg = loadConfig({ config, root });
    setLogLevel(cfg.logLevel);
    return cfg;
  } catch (err) {
    if (err instanceof ConfigError) throw new CliExit(125, `berth registry ${cmd}: ${err.message}`);
    throw err;
  }
}

export const replicate: Command = {
  usage: 'registry replicate --once [OPTIONS]',
  summary: 'Run the replication rules of a registry config file now',
  args: { max: 0 },
  flags: [
    { name: 'once', type: 'bool', help: 'Run every rule once and exit' },
    { name: 'config', type: 'string', help: 'Registry config file holding the rules' },
    { name: 'root', type: 'string', help: 'Storage root directory (default: from the config file)' },
    { name: 'rule', type: 'strings', help: 'Run only the rule of this name (repeatable)' },
  ],
  async run(cli, _args, f) {
    if (!f.once) throw new CliExit(125, 'berth registry replicate: give --once (scheduled and push-triggered rules run inside "registry serve")');
    const cfg = load('replicate', f.config as string | undefined, f.root as string | undefined);
    const only = (f.rule as string[] | undefined) ?? [];
    for (const n of only) if (!cfg.replication.some((r) => r.name === n)) throw new CliExit(125, `berth registry replicate: no rule named "${n}"`);
    const rules = only.length ? cfg.replication.filter((r) => only.includes(r.name)) : cfg.replication;
    if (!rules.length) throw new CliExit(125, 'berth registry replicate: the config file has no replication rules');
    const storage = openStorage(cfg.root, cfg.storage);
    await storage.init();
    try {
      const results = await new Replicator(rules, storage).runAll((line) => cli.out(line + '\n'));
      const failed = results.filter((r) => r.errors.length);
      if (failed.length)
        throw new CliExit(1, `berth registry replicate: ${failed.length} of ${results.length} rules failed: ${failed.map((r) => r.rule).join(', ')}`);
    } finally {
      closeAgents();
    }
  },
};

export const retention: Command = {
  usage: 'registry retention [OPTIONS]',
  summary: 'Apply the retention rules of a registry config file, then collect garbage (run with the registry stopped or read-only)',
  args: { max: 0 },
  flags: [
    { name: 'config', type: 'string', help: 'Registry config file holding the rules' },
    { name: 'root', type: 'string', help: 'Storage root directory (default: from the config file)' },
    { name: 'dry-run', short: 'd', type: 'bool', help: 'Print what would be deleted, delete nothing' },
  ],
  async run(cli, _args, f) {
    const cfg = load('retention', f.config as string | undefined, f.root as string | undefined);
    const rules = cfg.retention?.rules ?? [];
    if (!rules.length) throw new CliExit(125, 'berth registry retention: the config file has no retention rules');
    if (cfg.storage.driver === 'filesystem' && !existsSync(join(cfg.root, 'repositories')))
      throw new CliExit(1, `berth registry retention: no registry storage at ${cfg.root}`);
    const out = (l: string) => cli.out(l + '\n');
    const dryRun = !!f['dry-run'];
    const storage = openStorage(cfg.root, cfg.storage);
    await storage.init();
    await applyRetention(storage, rules, { dryRun, out });
    if (dryRun) {
      out('(dry run: nothing deleted; gc would then delete the blobs only those manifests referenced)');
      return;
    }
    if (cfg.storage.driver === 's3' && !cfg.readOnly) {
      out('gc: skipped: a shared bucket is swept only when every replica is read-only (readOnly in the config; see berth registry gc)');
      return;
    }
    const gc = await collectGarbage(storage, {});
    out(`gc: ${gc.blobsDeleted.length} blobs deleted`);
  },
};
