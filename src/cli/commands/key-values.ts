/** `KEY=VALUE` flag lists (--label, --opt, --log-opt, --sysctl, --tmpfs with ':') into an object; a bare KEY maps to "". */
export function keyValues(vals: string[], sep = '='): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of vals) {
    const i = v.indexOf(sep);
    out[i < 0 ? v : v.slice(0, i)] = i < 0 ? '' : v.slice(i + 1);
  }
  return out;
}
