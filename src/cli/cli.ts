/**
 * What every command gets: the API client (the daemon is started on demand),
 * output streams, and docker's error conventions.
 */
import { spawn } from 'node:child_process';
import { openSync, mkdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client, ConnectError, type ClientTls } from '../client/client.js';
import type { FlagDef, FlagValues } from '../core/flags.js';

export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';

/** A CLI command: docker's usage line, summary, flags and argument count. */
export interface Command {
  usage: string;
  summary: string;
  flags: FlagDef[];
  args?: { min?: number; max?: number };
  /** Stop flag parsing at the first argument (commands that run other commands). */
  stopAtArg?: boolean;
  /** Resolves to the exit code, or to nothing for 0. */
  run(cli: Cli, args: string[], flags: FlagValues): Promise<number> | Promise<void>;
}

/** Exit with docker's status and message. */
export class CliExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export class Cli {
  private clientValue?: Client;
  private checked = false;
  /** TLS towards a tcp:// host (--tls/--tlsverify, DOCKER_TLS_VERIFY); unset for plain HTTP. */
  tls?: ClientTls;

  /**
   * `host`: where requests go; `hostIsDefault`: berth may start the daemon there;
   * `contextName`: the context in use ("default" when -H or BERTH_HOST chose the host);
   * `defaultHost`: the default context's endpoint (-H, BERTH_HOST or berth's own socket).
   */
  constructor(
    readonly host: string,
    readonly hostIsDefault: boolean,
    readonly contextName = 'default',
    readonly defaultHost = host,
  ) {}

  out(s: string): void {
    process.stdout.write(s);
  }
  err(s: string): void {
    process.stderr.write(s);
  }

  /** The client, after making sure a daemon answers (starting one if we may). */
  async client(): Promise<Client> {
    this.clientValue ??= new Client(this.host, undefined, this.tls);
    if (!this.checked) {
      this.checked = true;
      // Started when the first request finds no daemon: no ping round trip before every command.
      if (this.hostIsDefault && process.getuid?.() === 0) this.clientValue.onUnreachable = () => this.startDaemon();
    }
    return this.clientValue;
  }

  /** Start berthd with its defaults in the background, wait until it answers, say so once. */
  private async startDaemon(): Promise<void> {
    // berthd sits beside the berth script that started us (bin/), whether run from a checkout or a link to it.
    const daemon = join(dirname(realpathSync(process.argv[1]!)), 'berthd');
    mkdirSync('/var/log/berth', { recursive: true });
    const logFile = '/var/log/berth/berthd.log';
    const fd = openSync(logFile, 'a');
    const child = spawn(process.execPath, [daemon], { detached: true, stdio: ['ignore', fd, fd] });
    child.unref();
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    for (let i = 0; i < 200 && !exited; i++) {
      if (await this.clientValue!.ping()) {
        this.err(`berth: started berthd (pid ${child.pid}) with data root /var/lib/berth; its log is ${logFile}\n`);
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!(await this.clientValue!.ping())) throw new ConnectError(this.host, undefined);
  }

  close(): void {
    this.clientValue?.close();
  }
}
