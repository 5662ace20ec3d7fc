/** Container names: Docker's rules, and random "adjective_surname" names for unnamed containers. */
import { randomInt } from 'node:crypto';
import { InvalidArgumentError } from '../../core/errors.js';

const ADJECTIVES = [
  'agile',
  'bold',
  'brave',
  'bright',
  'calm',
  'clever',
  'cool',
  'crisp',
  'eager',
  'fair',
  'fond',
  'gentle',
  'glad',
  'happy',
  'keen',
  'kind',
  'lucid',
  'merry',
  'modest',
  'nimble',
  'noble',
  'patient',
  'quiet',
  'quick',
  'serene',
  'sharp',
  'steady',
  'swift',
  'tender',
  'tidy',
  'upbeat',
  'vivid',
  'warm',
  'wise',
  'witty',
  'zealous',
];
// Navigators, shipwrights and harbour builders: a berth is where ships rest.
const SURNAMES = [
  'magellan',
  'cook',
  'drake',
  'vespucci',
  'hudson',
  'cabot',
  'tasman',
  'bering',
  'nansen',
  'amundsen',
  'shackleton',
  'zheng',
  'battuta',
  'polo',
  'dias',
  'gama',
  'columbus',
  'cartier',
  'champlain',
  'flinders',
  'vancouver',
  'baffin',
  'frobisher',
  'barents',
  'dampier',
  'bougainville',
  'laperouse',
  'humboldt',
  'franklin',
  'ross',
  'weddell',
  'heyerdahl',
];

const NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** The stored form of a user-given name ("/web"), or a 400 in Docker's words. */
export function validName(name: string): string {
  if (!NAME_RE.test(name)) throw new InvalidArgumentError(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return name.startsWith('/') ? name : `/${name}`;
}

export function randomName(taken: (n: string) => boolean): string {
  for (let i = 0; ; i++) {
    let n = `/${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${SURNAMES[randomInt(SURNAMES.length)]}`;
    if (i > 10) n += randomInt(10);
    if (!taken(n)) return n;
  }
}
