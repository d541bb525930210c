/**
 * Child process: the bare node:http keep-alive POST loop, as a process of its own so it is timed
 * like the CLI, spawn to exit (argv: SCIM root URL, creates, concurrency; bodies as seed.ts makes them).
 */
import { seededUser } from '../../src/sandbox/seed.js';
import { bareHttpCreates } from './bare-loops.js';

const [url, creates, concurrency] = process.argv.slice(2);
const bodies = Array.from({ length: Number(creates) }, (_, i) => seededUser(i));
await bareHttpCreates(url!, process.env['BENCH_TOKEN']!, bodies, Number(concurrency));
