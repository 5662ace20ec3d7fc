/** `<object> inspect A B …`: one GET per name, JSON array or a template per object, errors after. */
import { ApiError } from '../../client/client.js';
import type { Cli } from '../cli.js';
import { renderOne } from '../format/formatter.js';

export async function inspectEach(cli: Cli, names: string[], format: string | undefined, pathOf: (name: string) => string): Promise<number> {
  const client = await cli.client();
  const found: unknown[] = [];
  const errors: string[] = [];
  for (const n of names) {
    try {
      found.push(await client.json('GET', pathOf(n)));
    } catch (e) {
      if (e instanceof ApiError) errors.push(`Error response from daemon: ${e.message}`);
      else throw e;
    }
  }
  if (format) for (const o of found) cli.out(renderOne(format, o) + '\n');
  else cli.out(JSON.stringify(found, null, 4) + '\n');
  if (errors.length) {
    cli.err(errors.join('\n') + '\n');
    return 1;
  }
  return 0;
}
