/**
 * Child process: a bare node:http loop, as a process of its own so it is timed like the CLI, spawn
 * to exit (both pay for starting node and run cold):
 * - `URL CREATES CONCURRENCY`: the keep-alive POST loop (bodies as seed.ts makes them);
 * - `list URL PAGE_SIZE CONCURRENCY`: the paged GET loop of /Users; prints how many users it saw.
 */
import { bareHttpCreates, bareHttpListing } from './bare-loops.js';

const args = process.argv.slice(2);
const token = process.env['BENCH_TOKEN']!;
if (args[0] === 'list') {
  const [, url, pageSize, concurrency] = args;
  const listed = await bareHttpListing(url!, token, Number(pageSize), Number(concurrency));
  process.stdout.write(`${listed.resources}\n`);
} else {
  const [url, creates, concurrency] = args;
  const { seededUser } = await import('../../src/sandbox/seed.js');
  const bodies = Array.from({ length: Number(creates) }, (_, i) => seededUser(i));
  await bareHttpCreates(url!, token, bodies, Number(concurrency));
}
