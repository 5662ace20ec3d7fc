/**
 * The tokens of Docker's token authentication: JWTs signed with ES256 by the
 * registry's own issuer and checked by the registry. Claims follow Docker's
 * token spec: iss, sub, aud, exp, nbf, iat, jti and `access`
 * ([{type, name, actions}]).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, randomBytes, createHash, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import { writeFileSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ResourceAccess {
  type: string;
  name: string;
  actions: string[];
}
export interface Claims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  access: ResourceAccess[];
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** Load the issuer's EC P-256 key, creating it (mode 0600) on first use. */
export function loadOrCreateKey(path: string): KeyObject {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
    writeFileSync(tmp, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    renameSync(tmp, path);
  }
  return createPrivateKey(readFileSync(path));
}

export class TokenSigner {
  readonly publicKey: KeyObject;
  readonly kid: string;

  constructor(
    private readonly key: KeyObject,
    readonly issuer: string,
  ) {
    if (key.asymmetricKeyType !== 'ec') throw new Error('token signing key must be an EC P-256 key');
    this.publicKey = createPublicKey(key);
    this.kid = createHash('sha256')
      .update(this.publicKey.export({ type: 'spki', format: 'der' }))
      .digest('hex')
      .slice(0, 32);
  }

  sign(sub: string, aud: string, access: ResourceAccess[], ttlSeconds: number, now = Math.floor(Date.now() / 1000)): string {
    const header = { alg: 'ES256', typ: 'JWT', kid: this.kid };
    const claims: Claims = { iss: this.issuer, sub, aud, exp: now + ttlSeconds, nbf: now - 1, iat: now, jti: randomBytes(16).toString('hex'), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = sign('sha256', Buffer.from(input), { key: this.key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${b64url(sig)}`;
  }

  /** The claims of a token we signed for `aud`, or an Error saying why it is refused. */
  verify(token: string, aud: string, now = Math.floor(Date.now() / 1000)): Claims | Error {
    const parts = token.split('.');
    if (parts.length !== 3) return new Error('malformed token');
    let header: { alg?: string };
    let claims: Claims;
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString());
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString());
    } catch {
      return new Error('malformed token');
    }
    if (header.alg !== 'ES256') return new Error('unsupported token algorithm');
    const ok = verify(
      'sha256',
      Buffer.from(`${parts[0]}.${parts[1]}`),
      { key: this.publicKey, dsaEncoding: 'ieee-p1363' },
      Buffer.from(parts[2]!, 'base64url'),
    );
    if (!ok) return new Error('invalid token signature');
    if (claims.iss !== this.issuer) return new Error('token issuer mismatch');
    if (claims.aud !== aud) return new Error('token audience mismatch');
    const leeway = 60;
    if (typeof claims.exp !== 'number' || now > claims.exp + leeway) return new Error('token expired');
    if (typeof claims.nbf === 'number' && now + leeway < claims.nbf) return new Error('token not yet valid');
    if (!Array.isArray(claims.access)) claims.access = [];
    return claims;
  }
}
