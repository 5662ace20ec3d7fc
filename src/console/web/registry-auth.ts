/**
 * The X-Registry-Auth header the Engine API reads on pull and push: an
 * AuthConfig as base64url JSON, as the docker CLI sends it (`{}` without
 * credentials, so a push never falls back to reading a body).
 */
export function registryAuth(username: string, password: string, serveraddress: string): string {
  const cfg = username ? { username, password, serveraddress } : {};
  const bytes = new TextEncoder().encode(JSON.stringify(cfg));
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_');
}

/** The registry host a reference names ("docker.io" when it names none), as Docker decides it. */
export function registryOf(ref: string): string {
  const i = ref.indexOf('/');
  if (i < 0) return 'docker.io';
  const first = ref.slice(0, i);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : 'docker.io';
}
