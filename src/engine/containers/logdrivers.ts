/**
 * The log drivers dockerd knows, and what berthd does with each.
 *
 * berthd stores a container's output one way (conmon's log file, which also
 * feeds attach). `json-file` and `local` are that file read back; `none`
 * keeps nothing once the container has exited and refuses to be read. The
 * drivers that ship logs elsewhere (syslog, journald, gelf, fluentd, …) are
 * not implemented: their options are checked at create as dockerd checks
 * them, and start refuses them — with dockerd's own words where dockerd
 * would fail too on this host (no syslog socket, no journald, nothing
 * listening at the fluentd address, a required option missing), and saying
 * berthd does not support the driver otherwise. Never silently json-file.
 */
import { statSync } from 'node:fs';
import { connect } from 'node:net';
import { BerthError, InvalidArgumentError } from '../../core/errors.js';

const ATTRS = ['env', 'env-regex', 'labels', 'labels-regex', 'tag'];
/** Options of dual logging (a local cache so `logs` works with a remote driver), taken by every driver. */
const CACHE_OPTS = ['cache-disabled', 'cache-max-size', 'cache-max-file', 'cache-compress'];
/** Options ValidateLogOpts handles itself before a driver sees them. */
const BUILT_IN = new Set(['mode', 'max-buffer-size']);

interface Driver {
  /** Options the driver takes. */
  keys: string[];
  unknown: (key: string) => string;
  /** Further checks at create (dockerd's validator), a message when refused. */
  check?: (cfg: Record<string, string>) => string | undefined;
  /** berthd can keep and read back this driver's logs. */
  local?: boolean;
}

const quoteUnknown = (name: string) => (k: string) => `unknown log opt '${k}' for ${name} log driver`;

export const LOG_DRIVERS: Record<string, Driver> = {
  'json-file': { keys: ['max-size', 'max-file', 'compress', ...ATTRS], unknown: quoteUnknown('json-file'), local: true },
  local: { keys: ['max-size', 'max-file', 'compress'], unknown: (k) => `unknown log opt '${k}' for log driver local`, local: true },
  none: { keys: [], unknown: () => '', local: true },
  syslog: {
    keys: [...ATTRS, 'syslog-address', 'syslog-facility', 'syslog-tls-ca-cert', 'syslog-tls-cert', 'syslog-tls-key', 'syslog-tls-skip-verify', 'syslog-format'],
    unknown: quoteUnknown('syslog'),
  },
  journald: { keys: ATTRS, unknown: quoteUnknown('journald') },
  gelf: {
    keys: [...ATTRS, 'gelf-address', 'gelf-compression-level', 'gelf-compression-type', 'gelf-tcp-max-reconnect', 'gelf-tcp-reconnect-delay'],
    unknown: (k) => `unknown log opt ${JSON.stringify(k)} for gelf log driver`,
    check: (cfg) => (cfg['gelf-address'] ? undefined : 'gelf-address is a required parameter'),
  },
  fluentd: {
    keys: [
      ...ATTRS,
      'fluentd-address',
      'fluentd-async',
      'fluentd-async-connect',
      'fluentd-async-reconnect-interval',
      'fluentd-buffer-limit',
      'fluentd-max-retries',
      'fluentd-request-ack',
      'fluentd-retry-wait',
      'fluentd-sub-second-precision',
      'fluentd-write-timeout',
      'fluentd-read-timeout',
    ],
    unknown: quoteUnknown('fluentd'),
  },
  awslogs: {
    keys: [
      'tag',
      'awslogs-region',
      'awslogs-endpoint',
      'awslogs-group',
      'awslogs-stream',
      'awslogs-create-group',
      'awslogs-create-stream',
      'awslogs-datetime-format',
      'awslogs-multiline-pattern',
      'awslogs-credentials-endpoint',
      'awslogs-force-flush-interval-seconds',
      'awslogs-max-buffered-events',
      'awslogs-format',
    ],
    unknown: quoteUnknown('awslogs'),
    check: (cfg) => (cfg['awslogs-group'] ? undefined : "must specify a value for log opt 'awslogs-group'"),
  },
  splunk: {
    keys: [
      ...ATTRS,
      'splunk-url',
      'splunk-token',
      'splunk-source',
      'splunk-sourcetype',
      'splunk-index',
      'splunk-capath',
      'splunk-caname',
      'splunk-insecureskipverify',
      'splunk-format',
      'splunk-verify-connection',
      'splunk-gzip',
      'splunk-gzip-level',
      'splunk-index-acknowledgment',
    ],
    unknown: quoteUnknown('splunk'),
  },
  gcplogs: {
    keys: ['env', 'env-regex', 'labels', 'labels-regex', 'gcp-project', 'gcp-log-cmd', 'gcp-meta-zone', 'gcp-meta-name', 'gcp-meta-id'],
    unknown: (k) => `${JSON.stringify(k)} is not a valid option for the gcplogs driver`,
  },
  logentries: {
    keys: [...ATTRS, 'logentries-token', 'line-only'],
    unknown: quoteUnknown('logentries'),
    check: (cfg) => (cfg['logentries-token'] ? undefined : 'Missing logentries token'),
  },
};

/** dockerd's checks of a log config at create, in its words (a 400). */
export function validateLogConfig(type: string, cfg: Record<string, string>): void {
  if (type === 'none') return;
  const mode = cfg.mode ?? '';
  if (!['', 'blocking', 'non-blocking'].includes(mode)) throw new InvalidArgumentError(`logger: logging mode not supported: ${mode}`);
  if ('max-buffer-size' in cfg && mode !== 'non-blocking')
    throw new InvalidArgumentError("logger: max-buffer-size option is only supported with 'mode=non-blocking'");
  const d = LOG_DRIVERS[type];
  // The words of dockerd since 23 (API 1.42+), which Berth speaks; 20.10 named a plugin lookup instead.
  if (!d) throw new InvalidArgumentError(`logger: no log driver named '${type}' is registered`);
  const keys = new Set([...d.keys, ...(d.local ? [] : CACHE_OPTS)]);
  for (const k of Object.keys(cfg)) {
    if (!BUILT_IN.has(k) && !keys.has(k)) throw new InvalidArgumentError(d.unknown(k));
  }
  const refused = d.check?.(cfg);
  if (refused) throw new InvalidArgumentError(refused);
}

/** Whether `logs` can read what this driver keeps (dockerd's 501 otherwise). */
export function assertReadable(type: string | undefined): void {
  const d = LOG_DRIVERS[type || 'json-file'];
  if (type === 'none' || !d?.local) throw new BerthError('configured logging driver does not support reading', 501);
}

/**
 * Why this container cannot start with its log driver (null: it can).
 * Where dockerd would fail too on this host, in dockerd's words.
 */
export async function logDriverRefusal(type: string | undefined, cfg: Record<string, string> = {}): Promise<BerthError | null> {
  const t = type || 'json-file';
  if (LOG_DRIVERS[t]?.local) return null;
  const fail = (msg: string) => new BerthError(`failed to initialize logging driver: ${msg}`, 500);
  switch (t) {
    case 'syslog':
      if (!cfg['syslog-address'] && !['/dev/log', '/var/run/syslog', '/var/run/log'].some(isSocket)) return fail('Unix syslog delivery error');
      break;
    case 'journald':
      if (!isSocket('/run/systemd/journal/socket')) return fail('journald is not enabled on this host');
      break;
    case 'fluentd': {
      if (cfg['fluentd-async'] === 'true' || cfg['fluentd-async-connect'] === 'true') break;
      const refused = await tcpRefused(cfg['fluentd-address'] || 'localhost:24224');
      if (refused) return fail(refused);
      break;
    }
    case 'splunk':
      if (!cfg['splunk-url']) return fail('splunk: splunk-url is expected');
      if (!cfg['splunk-token']) return fail('splunk: splunk-token is expected');
      break;
    case 'gcplogs':
      if (!cfg['gcp-project']) return fail("No project was specified and couldn't read project from the metadata server. Please specify a project");
      break;
  }
  return fail(`the ${t} log driver is not supported by berthd (supported: json-file, local, none)`);
}

function isSocket(p: string): boolean {
  try {
    return statSync(p).isSocket();
  } catch {
    return false;
  }
}

/** dockerd's dial error when nothing listens at a fluentd address ("host:port", "tcp://host:port"), or null. */
function tcpRefused(address: string): Promise<string | null> {
  const m = /^(?:tcp:\/\/)?(\[[^\]]+\]|[^:/]+)?(?::(\d+))?$/.exec(address);
  if (!m) return Promise.resolve(null);
  const host = (m[1] ?? 'localhost').replace(/^\[|\]$/g, '');
  const port = Number(m[2] ?? 24224);
  return new Promise((resolve) => {
    const s = connect({ host: host === 'localhost' ? '127.0.0.1' : host, port });
    const done = (v: string | null) => {
      clearTimeout(t);
      s.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done(null), 2000);
    s.on('connect', () => done(null));
    s.on('error', (e: NodeJS.ErrnoException) => {
      done(e.code === 'ECONNREFUSED' ? `dial tcp ${host === 'localhost' ? '127.0.0.1' : host}:${port}: connect: connection refused` : null);
    });
  });
}
