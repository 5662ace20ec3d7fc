/**
 * BuildKit sessions (POST /session): dockerd's session manager takes a
 * session by its ID over an h2c upgrade, one at a time per ID. Berth has no
 * BuildKit, so nothing ever calls back over a session; this only keeps the
 * IDs that are open, to refuse a second one as dockerd refuses it.
 */
import { InvalidArgumentError } from '../core/errors.js';

export class Sessions {
  private ids = new Set<string>();

  /** Take session `id` upgraded to protocol `proto` (checked in dockerd's order and words); returns its release. */
  open(id: string, proto: string): () => void {
    if (this.ids.has(id)) throw new InvalidArgumentError(`session ${id} already exists`);
    if (!proto) throw new InvalidArgumentError('no upgrade proto in request');
    if (proto !== 'h2c') throw new InvalidArgumentError(`protocol ${proto} not supported`);
    this.ids.add(id);
    return () => {
      this.ids.delete(id);
    };
  }
}
