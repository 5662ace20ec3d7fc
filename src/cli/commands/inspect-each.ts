/** `<object> inspect A B …`: one GET per name, JSON array or a template per object, errors after. */
import { ApiError } from '../../client/client.js';
import type { Cli } from '../cli.js';
import { renderOne } from '../format/formatter.js';

/**
 * Print inspect results as docker does: an indented JSON array, or one template line each;
 * then the names not found (a daemon error `isMissing` accepts, in `notFound`'s words), exit 1.
 */
export async function printInspect(
  cli: Cli,
  names: string[],
  format: string | undefined,
  fetchOne: (n: string) => Promise<unknown>,
  notFound: (n: string, e: ApiError) => string,
  isMissing: (e: ApiError) => boolean = (e) => e.status === 404,
): Promise<number> {
  const found: unknown[] = [];
  const errors: string[] = [];
  for (const n of names) {
    try {
      found.push(await fetchOne(n));
    } catch (err) {
      if (err instanceof ApiError && isMissing(err)) errors.push(notFound(n, err));
      else throw err;
    }
  }
  if (format) for (const obj of found) cli.out(renderOne(format, obj) + '\n');
  else cli.out(JSON.stringify(found, null, 4) + '\n');
  if (errors.length) {
    cli.err(errors.join('\n') + '\n');
    return 1;
  }
  return 0;
}

/** The daemon's words for a name it does not know. */
export const daemonNotFound = (_n: string, e: ApiError): string => `Error response from daemon: ${e.message}`;

/** `volume inspect`, `network inspect`: every daemon error is reported after what was found. */
export async function inspectEach(cli: Cli, names: string[], format: string | undefined, pathOf: (name: string) => string): Promise<number> {
  const client = await cli.client();
  return printInspect(
    cli,
    names,
    format,
    (n) => client.json('GET', pathOf(n)),
    daemonNotFound,
    () => true,
  );
}
