/**
 * Where a registry name is reached, Docker's rules:
 *  - docker.io goes to its mirrors first (daemon.json `registry-mirrors`),
 *    then to registry-1.docker.io;
 *  - an insecure registry (daemon.json `insecure-registries`, by host:port or
 *    CIDR; loopback always) is tried over TLS without verification, then
 *    over plain HTTP;
 *  - any other registry is HTTPS, verified against the system CAs plus the
 *    `*.crt` files in `<certs.d>/<host:port>/` (client certs from `*.cert`/`*.key`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lookup } from 'node:dns/promises';
import { isIP, BlockList } from 'node:net';
import { DEFAULT_DOMAIN } from '../core/reference.js';
import type { TlsSettings } from './http.js';

export const DOCKER_HUB_REGISTRY = 'registry-1.docker.io';
/** The server address Docker files Docker Hub credentials under. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';
export const DOCKER_HUB_INDEX = 'index.docker.io';

export interface RegistrySettings {
  mirrors?: string[];
  insecure?: string[];
  /** Directory of per-registry CA and client certificates (Docker's /etc/docker/certs.d). */
  certsDir?: string;
}

export interface Endpoint {
  /** Base URL: scheme, host and any path prefix (mirrors may have one). */
  url: URL;
  tls: TlsSettings;
  mirror: boolean;
  /** The host the user named (docker.io for Docker Hub), for messages and credentials. */
  registry: string;
}

export class RegistryHosts {
  private readonly insecureHosts = new Set<string>();
  private readonly insecureNets = new BlockList();
  readonly mirrors: URL[];

  constructor(readonly settings: RegistrySettings = {}) {
    this.insecureNets.addSubnet('127.0.0.0', 8, 'ipv4');
    this.insecureNets.addAddress('::1', 'ipv6');
    for (const s of settings.insecure ?? []) {
      const cidr = /^(.+)\/(\d+)$/.exec(s);
      if (cidr && isIP(cidr[1]!)) this.insecureNets.addSubnet(cidr[1]!, Number(cidr[2]), isIP(cidr[1]!) === 6 ? 'ipv6' : 'ipv4');
      else this.insecureHosts.add(s.replace(/^https?:\/\//, '').replace(/\/$/, ''));
    }
    this.mirrors = (settings.mirrors ?? []).map((m) => {
      const u = new URL(m.includes('://') ? m : `https://${m}`);
      if (!u.pathname.endsWith('/')) u.pathname += '/';
      return u;
    });
  }

  /** Docker's rule: listed by name, or any of its addresses inside a listed CIDR (loopback included). */
  async isInsecure(host: string): Promise<boolean> {
    if (this.insecureHosts.has(host)) return true;
    const hostname = host.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
    if (this.insecureHosts.has(hostname)) return true;
    let addrs: string[];
    if (isIP(hostname)) addrs = [hostname];
    else if (hostname === 'localhost') addrs = ['127.0.0.1'];
    else {
      try {
        addrs = (await lookup(hostname, { all: true })).map((a) => a.address);
      } catch {
        addrs = [];
      }
    }
    return addrs.some((a) => this.insecureNets.check(a, isIP(a) === 6 ? 'ipv6' : 'ipv4'));
  }

  /** TLS settings for a host: certs.d material, and verification off when insecure. */
  async tlsFor(host: string): Promise<TlsSettings> {
    const tls: TlsSettings = { insecure: await this.isInsecure(host) };
    const dir = this.settings.certsDir ? join(this.settings.certsDir, host.replace(/[/\\]/g, '')) : undefined;
    if (!dir) return tls;
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      return tls;
    }
    const ca = names.filter((n) => n.endsWith('.crt')).map((n) => readFileSync(join(dir, n), 'utf8'));
    if (ca.length) tls.ca = ca;
    const cert = names.find((n) => n.endsWith('.cert'));
    if (cert) {
      const key = cert.replace(/\.cert$/, '.key');
      if (names.includes(key)) {
        tls.cert = readFileSync(join(dir, cert), 'utf8');
        tls.key = readFileSync(join(dir, key), 'utf8');
      }
    }
    return tls;
  }

  /** Endpoints to try for a registry domain, in order. */
  async endpoints(domain: string): Promise<Endpoint[]> {
    const out: Endpoint[] = [];
    if (domain === DEFAULT_DOMAIN) {
      for (const m of this.mirrors) {
        const tls = await this.tlsFor(m.host);
        out.push({ url: m, tls, mirror: true, registry: domain });
      }
      out.push({ url: new URL(`https://${DOCKER_HUB_REGISTRY}/`), tls: await this.tlsFor(DOCKER_HUB_REGISTRY), mirror: false, registry: domain });
      return out;
    }
    const tls = await this.tlsFor(domain);
    out.push({ url: new URL(`https://${domain}/`), tls, mirror: false, registry: domain });
    if (tls.insecure) out.push({ url: new URL(`http://${domain}/`), tls, mirror: false, registry: domain });
    return out;
  }
}
