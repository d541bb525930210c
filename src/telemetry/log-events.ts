/**
 * A sync's events as log lines: the source read, each target's listing, apply begun and ended,
 * each retry (debug: a rate-limited target retries often), each target's cycle end. The lines carry
 * the target; the caller's logger carries the cycle.
 */
import type { Log } from './logger.js';
import type { SyncObserver } from './sync-events.js';

export function logEvents(log: Log): SyncObserver {
  const tally = new Map<string, { done: number; failed: number }>();
  return (e) => {
    switch (e.type) {
      case 'source':
        if (e.state === 'reading') {
          if (e.records === undefined) log('source: reading', { level: 'debug' });
        } else log(`source: read ${e.people} people, ${e.groups} groups`, { people: e.people, groups: e.groups });
        return;
      case 'listing':
        if (e.done) log(`listed ${e.listed} ${e.resource} in ${e.pages} page${e.pages === 1 ? '' : 's'}`, { target: e.target, level: 'debug' });
        return;
      case 'apply':
        tally.set(e.target, { done: 0, failed: 0 });
        log(`applying ${e.total} operation${e.total === 1 ? '' : 's'}`, { target: e.target, operations: e.total });
        return;
      case 'operation': {
        const t = tally.get(e.target);
        if (t) {
          t.done++;
          if (e.outcome === 'failed') t.failed++;
        }
        if (e.outcome === 'failed') log(`${e.kind} failed`, { target: e.target, level: 'debug' });
        return;
      }
      case 'retry':
        log(e.reason === 'rate-limited' ? `rate limited: retrying in ${Math.ceil(e.delayMs / 1000)} s, as the server asked` : `transient error: retrying in ${e.delayMs} ms`, {
          target: e.target,
          level: 'debug',
        });
        return;
      case 'applied': {
        const t = tally.get(e.target) ?? { done: 0, failed: 0 };
        log(`applied: ${t.done} operation${t.done === 1 ? '' : 's'} ended, ${t.failed} failed`, { target: e.target, ...(t.failed ? { level: 'warn' } : {}) });
        return;
      }
      case 'cycle':
        log(`cycle ${e.ok ? 'succeeded' : 'did not succeed'} in ${e.seconds.toFixed(1)} s`, { target: e.target, ...(e.ok ? {} : { level: 'warn' }) });
        return;
    }
  };
}
