/**
 * A process that takes a staged set for a decision and then never carries it out, for the tests of
 * recovery: as an approve does before it applies the set, and as one whose process is killed
 * midway leaves it. Arguments: `file <stateDir> <id>` or `redis <url> <prefix> <id>`. Prints
 * `taken` once it holds the set, or `error <message>`; exits when its stdin closes (the test's
 * process is gone), so it never outlives the test. Run with `node --import tsx`.
 */
import { Redis } from 'ioredis';
import { FileStagedStore, RedisStagedStore, type StagedStore } from '../../src/state/staged-store.js';

const [kind, where, ...rest] = process.argv.slice(2);
let redis: Redis | undefined;
let store: StagedStore;
if (kind === 'redis') {
  redis = new Redis(where!);
  store = new RedisStagedStore(redis, rest[0]!);
} else store = new FileStagedStore(where!);
const id = rest.at(-1)!;

store.take(id).then(
  () => console.log('taken'),
  (error: unknown) => console.log(`error ${String(error)}`),
);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
