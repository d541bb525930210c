/**
 * `scim-sync log`'s arguments are checked as they are parsed (exit 2, nothing read): an action no
 * record has is refused with the nearest one, as an unknown status is; a bad --since says what it
 * takes (a time, or a duration back from now in any unit, days too).
 */
import { describe, expect, it } from 'vitest';
import { parseInstant } from '../../src/cli/log-arguments.js';
import { main } from '../../src/cli/main.js';

async function log(...args: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const code = await main(['node', 'scim-sync', 'log', '--config', 'no-such-org.yaml', ...args], { out: () => undefined, err: (t) => err.push(t) });
  return { code, err: err.join('\n') };
}

describe('log arguments', () => {
  it('an action no record has is refused, with the nearest one', async () => {
    expect(await log('--action', 'updateUsr')).toEqual({ code: 2, err: expect.stringContaining('no record has the action "updateUsr"; did you mean updateUser?') });
    expect(await log('--action', 'bogus')).toEqual({ code: 2, err: expect.stringContaining('no record has the action "bogus" (actions: createUser,') });
  });

  it('a status that is no outcome is refused', async () => {
    expect(await log('--status', 'bogus')).toEqual({ code: 2, err: expect.stringContaining('one of ok, partial, failed') });
  });

  it('--since that is neither a time nor a duration says what it takes', async () => {
    expect(await log('--since', '1w')).toEqual({ code: 2, err: expect.stringContaining('"1w" is neither a time nor a duration back from now (write 2026-11-30T09:00:00Z, or 2h, 7d)') });
    expect(await log('--since', '2026-13-45')).toEqual({ code: 2, err: expect.stringContaining('"2026-13-45" is not a time') });
  });

  it('valid arguments go on to the config (here, one that does not exist)', async () => {
    const r = await log('--action', 'UPDATEUSER', '--status', 'success', '--since', '7d');
    expect(r.err).toContain('no-such-org.yaml');
  });
});

describe('--since/--until times', () => {
  it('a time without an offset is UTC, as log prints it, whatever the zone of the machine', () => {
    const zone = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      expect(parseInstant('2026-12-01 04:21:35').toISOString()).toBe('2026-12-01T04:21:35.000Z');
      expect(parseInstant('2026-12-01T04:21:35.250').toISOString()).toBe('2026-12-01T04:21:35.250Z');
      expect(parseInstant('2026-12-01 04:21').toISOString()).toBe('2026-12-01T04:21:00.000Z');
      expect(parseInstant('2026-12-01').toISOString()).toBe('2026-12-01T00:00:00.000Z');
      // An offset says otherwise.
      expect(parseInstant('2026-12-01T04:21:35Z').toISOString()).toBe('2026-12-01T04:21:35.000Z');
      expect(parseInstant('2026-12-01 04:21:35+02:00').toISOString()).toBe('2026-12-01T02:21:35.000Z');
      expect(parseInstant('2026-12-01T04:21:35-0500').toISOString()).toBe('2026-12-01T09:21:35.000Z');
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  it('what is not such a time is refused', () => {
    for (const text of ['2026-12-01 4pm', '2026-12-01T04:21:35 EST', '2026-12-01junk']) expect(() => parseInstant(text), text).toThrow('is not a time');
  });
});
