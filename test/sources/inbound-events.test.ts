/**
 * Inbound HR webhooks through handleInboundEvent, with real HMACs (signed here with node:crypto, not
 * with our verifier's code), the real event id journal and the real due-changes file: a good
 * signature is accepted with its keys; a bad, missing or stale one is 401 and records nothing; a
 * replay is a duplicate, also after a restart; a future-dated termination waits in DueChanges and
 * comes out when due, from a new store instance; no answer or log line holds the secret.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { events as eventsSchema } from '../../src/config/schema/events.js';
import { Secret } from '../../src/config/secret.js';
import { handleInboundEvent, type InboundResult } from '../../src/sources/events/handle-inbound-event.js';
import type { NamedEventEndpoint } from '../../src/sources/events/endpoint-settings.js';
import { FileDueChanges } from '../../src/state/due-changes.js';
import { FileEventIdStore } from '../../src/state/event-id-store.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs('scim-sync-events-');
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'events');
const fixture = (name: string) => readFileSync(join(FIXTURES, name));

const NOW = new Date('2026-03-10T12:00:00Z');
const unix = (d: Date) => String(Math.floor(d.getTime() / 1000));

const SECRETS = {
  bamboohr: 'bamboo-private-key-5f2c9a71',
  hibob: 'bob-webhook-secret-0c84e1d2',
  personio: 'Bearer personio-token-93a7e4f0',
  cloudevents: 'relay-signing-key-41be77c3',
} as const;

type Format = keyof typeof SECRETS;

/** An endpoint as the config loader gives it: through the schema, defaults filled in. */
function endpoint(format: Format, extra: Record<string, unknown> = {}): NamedEventEndpoint {
  const parsed = eventsSchema.parse({ hr: { format, secret: new Secret(SECRETS[format], 'env:HR_HOOK_SECRET'), ...extra } });
  return { ...parsed['hr']!, name: 'hr' };
}

// Signatures made the way each sender documents it, independently of src/.
const bambooSign = (body: Buffer, ts: string, key: string = SECRETS.bamboohr) =>
  createHmac('sha256', key).update(Buffer.concat([body, Buffer.from(ts)])).digest('hex');
const bobSign = (body: Buffer, key: string = SECRETS.hibob) => createHmac('sha512', key).update(body).digest('base64');
const scimSign = (body: Buffer, t: string, key: string = SECRETS.cloudevents) =>
  `t=${t},v1=${createHmac('sha256', key).update(`${t}.`).update(body).digest('hex')}`;

function bambooHeaders(body: Buffer, at = NOW) {
  const ts = unix(at);
  return { 'content-type': 'application/json', 'x-bamboohr-timestamp': ts, 'x-bamboohr-signature': bambooSign(body, ts) };
}

function state() {
  const dir = tempDir();
  return { dir, ids: FileEventIdStore.open(dir), due: new FileDueChanges(dir) };
}

/** Every answer and log line of a test, to check for the secret at the end. */
function recorder() {
  const seen: InboundResult[] = [];
  return {
    seen,
    async send(ep: NamedEventEndpoint, rawBody: Buffer, headers: Record<string, string>, s: ReturnType<typeof state>, now = NOW) {
      const r = await handleInboundEvent(ep, { rawBody, headers }, { now, ids: s.ids, due: s.due, secret: SECRETS[ep.format] });
      seen.push(r);
      return r;
    },
  };
}

describe('signatures', () => {
  it('BambooHR: a good signature is accepted with every key of the batch', async () => {
    const s = state();
    const { send } = recorder();
    const body = fixture('bamboohr-field-based.json');
    const r = await send(endpoint('bamboohr'), body, bambooHeaders(body), s);
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ events: 1, keys: 3, scheduled: 0, duplicates: 0 });
    expect(r.accepted!.flatMap((a) => a.keys)).toEqual(['4127', '4128', '4391']);
    expect(r.accepted!.map((a) => a.kind)).toEqual(['changed', 'created']);
  });

  it('a bad signature, a missing one, or one made with another key: 401, a bare body, nothing recorded', async () => {
    const s = state();
    const { send } = recorder();
    const body = fixture('bamboohr-event-based.json');
    const good = bambooHeaders(body);
    const cases: Record<string, string>[] = [
      { ...good, 'x-bamboohr-signature': good['x-bamboohr-signature'].replace(/^./, (c) => (c === '0' ? '1' : '0')) },
      { 'x-bamboohr-timestamp': good['x-bamboohr-timestamp'] },
      { ...good, 'x-bamboohr-signature': bambooSign(body, good['x-bamboohr-timestamp'], 'someone-elses-key-123') },
      { ...good, 'x-bamboohr-signature': 'not-hex' },
      { 'x-bamboohr-signature': good['x-bamboohr-signature'] },
    ];
    for (const headers of cases) {
      const r = await send(endpoint('bamboohr'), body, headers, s);
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ error: 'unauthorized' });
      expect(r.accepted).toBeUndefined();
    }
    // The body was tampered with after signing: refused too.
    const tampered = Buffer.from(body.toString().replace('4127', '4128'));
    expect((await send(endpoint('bamboohr'), tampered, good, s)).status).toBe(401);
    // Nothing was recorded: the genuine delivery is still new.
    expect((await send(endpoint('bamboohr'), body, good, s)).status).toBe(202);
    expect(await s.due.next()).toBeUndefined();
  });

  it('a signed timestamp outside the window is refused, either way; inside it is taken', async () => {
    const s = state();
    const { send } = recorder();
    const body = fixture('bamboohr-event-based.json');
    const ep = endpoint('bamboohr');
    const stale = await send(ep, body, bambooHeaders(body, new Date(NOW.getTime() - 301_000)), s);
    expect(stale.status).toBe(401);
    expect(stale.log).toContain('tolerance 300 s');
    expect((await send(ep, body, bambooHeaders(body, new Date(NOW.getTime() + 301_000)), s)).status).toBe(401);
    expect((await send(ep, body, bambooHeaders(body, new Date(NOW.getTime() - 299_000)), s)).status).toBe(202);

    const ce = fixture('cloudevents-terminated.json');
    const old = unix(new Date(NOW.getTime() - 3600_000));
    expect((await send(endpoint('cloudevents'), ce, { 'x-scim-sync-signature': scimSign(ce, old) }, s)).status).toBe(401);
    expect((await send(endpoint('cloudevents', { toleranceSeconds: 7200 }), ce, { 'x-scim-sync-signature': scimSign(ce, old) }, s)).status).toBe(202);
  });

  it('HiBob: base64 HMAC-SHA512 of the body; its unsigned connection test is answered and does nothing', async () => {
    const s = state();
    const { send } = recorder();
    const body = fixture('hibob-v2-employee-updated.json');
    expect((await send(endpoint('hibob'), body, { 'bob-signature': bobSign(body) }, s)).status).toBe(202);
    expect((await send(endpoint('hibob'), body, { 'bob-signature': bobSign(body, 'wrong-bob-secret-99') }, s)).status).toBe(401);
    for (const ping of ['Ping test', '{"text":"Ping test"}']) {
      const r = await send(endpoint('hibob'), Buffer.from(ping), {}, s);
      expect(r).toMatchObject({ status: 200, body: { ok: true } });
      expect(r.accepted).toBeUndefined();
    }
    // Only HiBob's test is let through unsigned.
    expect((await send(endpoint('cloudevents'), Buffer.from('Ping test'), {}, s)).status).toBe(401);
  });

  it('Personio: the static token must be the whole Authorization header', async () => {
    const s = state();
    const { send } = recorder();
    const body = fixture('personio-person-updated.json');
    expect((await send(endpoint('personio'), body, { authorization: 'Bearer personio-token-93a7e4f0' }, s)).status).toBe(202);
    const s2 = state();
    for (const authorization of ['personio-token-93a7e4f0', 'Bearer personio-token-93a7e4f', 'Bearer personio-token-93a7e4f0x', '']) {
      expect((await send(endpoint('personio'), body, { authorization }, s2)).status).toBe(401);
    }
  });

  it('scim-sync: any of several v1 signatures may match (a sender rotating its key)', async () => {
    const s = state();
    const { send } = recorder();
    const body = fixture('cloudevents-batch.json');
    const t = unix(NOW);
    const old = createHmac('sha256', 'the-previous-key-000').update(`${t}.`).update(body).digest('hex');
    const header = `${scimSign(body, t)},v1=${old}`.replace(/^(t=\d+),(v1=\w+),(v1=\w+)$/, '$1,$3,$2');
    const r = await send(endpoint('cloudevents'), body, { 'x-scim-sync-signature': header }, s);
    expect(r.status).toBe(202);
    expect(r.accepted!.map((a) => a.keys)).toEqual([['E1043'], ['E1044']]);
    expect((await send(endpoint('cloudevents'), body, { 'x-scim-sync-signature': `t=${t}` }, s)).status).toBe(401);
  });
});

describe('replays', () => {
  it('the same delivery again is 200 duplicate and does nothing, also after a restart', async () => {
    const s = state();
    const { send } = recorder();
    const body = fixture('bamboohr-field-based.json');
    const ep = endpoint('bamboohr', { effectiveAtField: 'Termination Date' });
    const first = await send(ep, body, bambooHeaders(body), s);
    expect(first.status).toBe(202);
    // BambooHR signs its retry with a new timestamp: same body, same derived id.
    const retry = await send(ep, body, bambooHeaders(body, new Date(NOW.getTime() + 60_000)), s, new Date(NOW.getTime() + 60_000));
    expect(retry).toMatchObject({ status: 200, body: { duplicate: true } });
    expect(retry.accepted).toBeUndefined();
    s.ids.close();
    const restarted = { ...s, ids: FileEventIdStore.open(s.dir), due: new FileDueChanges(s.dir) };
    expect((await send(ep, body, bambooHeaders(body), restarted)).body).toEqual({ duplicate: true });
    // The future-dated change was stored once, not once per delivery.
    expect(await restarted.due.due(new Date('2026-04-01T00:00:00Z'))).toHaveLength(1);
  });

  it('a CloudEvents batch with one event seen before: only the new one is taken', async () => {
    const s = state();
    const { send } = recorder();
    const single = Buffer.from(JSON.stringify(JSON.parse(fixture('cloudevents-batch.json').toString())[0]));
    await send(endpoint('cloudevents'), single, { 'x-scim-sync-signature': scimSign(single, unix(NOW)) }, s);
    const batch = fixture('cloudevents-batch.json');
    const r = await send(endpoint('cloudevents'), batch, { 'x-scim-sync-signature': scimSign(batch, unix(NOW)) }, s);
    expect(r.body).toEqual({ events: 1, keys: 1, scheduled: 0, duplicates: 1 });
    expect(r.accepted!.map((a) => a.keys)).toEqual([['E1044']]);
  });

  it('an id is forgotten after dedupSeconds: the delivery counts again', async () => {
    const dir = tempDir();
    let clock = NOW.getTime();
    const ids = FileEventIdStore.open(dir, { now: () => clock });
    expect(await ids.seen('hr', 'evt-1', 60_000)).toBe(false);
    expect(await ids.seen('hr', 'evt-1', 60_000)).toBe(true);
    // Per endpoint: the same id on another endpoint is another event.
    expect(await ids.seen('other', 'evt-1', 60_000)).toBe(false);
    clock += 60_001;
    expect(await ids.seen('hr', 'evt-1', 60_000)).toBe(false);
  });
});

describe('future-dated changes', () => {
  it('a termination effective later waits in DueChanges and comes out when due, from a new store instance', async () => {
    const s = state();
    const { send } = recorder();
    const body = fixture('cloudevents-terminated.json');
    const r = await send(endpoint('cloudevents'), body, { 'x-scim-sync-signature': scimSign(body, unix(NOW)) }, s);
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ events: 1, keys: 1, scheduled: 1, duplicates: 0 });
    expect(r.accepted).toEqual([]);
    const effectiveAt = new Date('2026-03-31T17:00:00Z');
    expect(r.scheduled).toEqual([{ eventId: 'urn:example:hr 7d1c2e0a-6f43-4c38-9d0e-2b6f3f0c9a11', keys: ['E1042'], kind: 'terminated', effectiveAt }]);

    // The process restarts: a new instance reads the file.
    const due = new FileDueChanges(s.dir);
    expect(await due.next()).toEqual(effectiveAt);
    expect(await due.due(NOW)).toEqual([]);
    expect(await due.due(new Date(effectiveAt.getTime() - 1))).toEqual([]);
    const ready = await due.due(effectiveAt);
    expect(ready).toEqual([{ endpoint: 'hr', eventId: 'urn:example:hr 7d1c2e0a-6f43-4c38-9d0e-2b6f3f0c9a11', key: 'E1042', effectiveAt }]);
    await due.done(ready);
    expect(await new FileDueChanges(s.dir).next()).toBeUndefined();
  });

  it('a BambooHR batch: the leaver with a future termination date is kept, the others are for now', async () => {
    const s = state();
    const { send } = recorder();
    const body = fixture('bamboohr-field-based.json');
    const r = await send(endpoint('bamboohr', { effectiveAtField: 'Termination Date' }), body, bambooHeaders(body), s);
    expect(r.accepted!.flatMap((a) => a.keys)).toEqual(['4127', '4391']);
    expect(r.scheduled).toEqual([expect.objectContaining({ keys: ['4128'], effectiveAt: new Date('2026-03-31T00:00:00Z') })]);
    expect((await s.due.due(new Date('2026-03-31T00:00:00Z'))).map((c) => c.key)).toEqual(['4128']);
  });

  it('an effective date already past is processed now, not stored', async () => {
    const s = state();
    const { send } = recorder();
    const body = fixture('cloudevents-terminated.json');
    const later = new Date('2026-04-02T00:00:00Z');
    const r = await send(endpoint('cloudevents'), body, { 'x-scim-sync-signature': scimSign(body, unix(later)) }, s, later);
    expect(r.accepted).toEqual([expect.objectContaining({ keys: ['E1042'], effectiveAt: new Date('2026-03-31T17:00:00Z') })]);
    expect(await s.due.next()).toBeUndefined();
  });

  it('when the change cannot be stored: 503, and the retry is processed rather than called a duplicate', async () => {
    const dir = tempDir();
    const ids = FileEventIdStore.open(dir);
    const body = fixture('cloudevents-terminated.json');
    const headers = { 'x-scim-sync-signature': scimSign(body, unix(NOW)) };
    const full = { now: NOW, ids, due: new FileDueChanges(dir, { maxEntries: 0 }), secret: SECRETS.cloudevents };
    const r = await handleInboundEvent(endpoint('cloudevents'), { rawBody: body, headers }, full);
    expect(r.status).toBe(503);
    expect(r.log).toContain('cannot store future-dated changes');
    const retry = await handleInboundEvent(endpoint('cloudevents'), { rawBody: body, headers }, { ...full, due: new FileDueChanges(dir) });
    expect(retry.status).toBe(202);
    // And the forget survives a restart too.
    ids.close();
    expect(await FileEventIdStore.open(dir).seen('hr', 'urn:example:hr 7d1c2e0a-6f43-4c38-9d0e-2b6f3f0c9a11', 60_000)).toBe(true);
  });
});

describe('bad payloads', () => {
  it('malformed JSON, a missing key, a body over the limit: a clear answer, nothing recorded', async () => {
    const s = state();
    const { send } = recorder();
    const signed = (text: string) => {
      const b = Buffer.from(text);
      return [b, { 'x-scim-sync-signature': scimSign(b, unix(NOW)) }] as const;
    };
    const ep = endpoint('cloudevents');
    const [broken, h1] = signed('{"specversion":"1.0",');
    expect(await send(ep, broken, h1, s)).toMatchObject({ status: 400, body: { error: 'the body is not valid JSON (webhooks must post JSON)' } });
    const [keyless, h2] = signed('{"specversion":"1.0","id":"x1","source":"urn:example:hr","type":"com.example.hr.employee.changed","data":{}}');
    expect(await send(ep, keyless, h2, s)).toMatchObject({
      status: 400,
      body: { error: 'event: no person key at "subject" (set keyField to where the payload names the source key)' },
    });
    const form = Buffer.from('employees[4127][changedFields][0]=Job+Title');
    const r = await send(endpoint('bamboohr'), form, { 'x-bamboohr-timestamp': unix(NOW), 'x-bamboohr-signature': bambooSign(form, unix(NOW)) }, s);
    expect(r).toMatchObject({ status: 400, body: { error: 'the body is not valid JSON (webhooks must post JSON)' } });
    const huge = Buffer.alloc(1024 * 1024 + 1, 0x20);
    expect((await send(ep, huge, {}, s)).status).toBe(413);
    // None of these was recorded: the keyless event, once fixed, is new.
    const [fixed, h4] = signed('{"specversion":"1.0","id":"x1","source":"urn:example:hr","type":"com.example.hr.employee.changed","subject":"E7","data":{}}');
    expect((await send(ep, fixed, h4, s)).status).toBe(202);
  });
});

describe('a CloudEvents batch with an event that names no one', () => {
  it('takes the events that name someone and says which it skipped; a batch naming no one is refused', async () => {
    const s = state();
    const { send } = recorder();
    const ep = endpoint('cloudevents');
    const signed = (events: object[]) => {
      const b = Buffer.from(JSON.stringify(events));
      return [b, { 'x-scim-sync-signature': scimSign(b, unix(NOW)) }] as const;
    };
    const leaver = { specversion: '1.0', id: 'b1', source: 'urn:example:relay', type: 'com.example.hr.employee.terminated', subject: 'E1002' };
    const other = { specversion: '1.0', id: 'b2', source: 'urn:example:relay', type: 'com.example.hr.company.updated', data: {} };
    const r = await send(ep, ...signed([leaver, other]), s);
    expect(r.status).toBe(202);
    expect(r.accepted!.map((a) => [a.keys, a.kind])).toEqual([[['E1002'], 'terminated']]);
    expect(r.log).toContain('not named: event 2 of 2 (com.example.hr.company.updated): nothing at "subject"');
    const none = await send(ep, ...signed([{ ...other, id: 'b3' }, { ...other, id: 'b4' }]), s);
    expect(none).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^no event of the batch names a person: event 1 of 2 .*set keyField/) } });
  });
});

describe('secrets', () => {
  it('no answer and no log line, accepted or refused, holds an endpoint secret', async () => {
    const s = state();
    const { send, seen } = recorder();
    for (const [format, file, headers] of [
      ['bamboohr', 'bamboohr-field-based.json', (b: Buffer) => bambooHeaders(b)],
      ['bamboohr', 'bamboohr-field-based.json', () => ({ 'x-bamboohr-timestamp': unix(NOW), 'x-bamboohr-signature': SECRETS.bamboohr })],
      ['hibob', 'hibob-v2-employee-updated.json', (b: Buffer) => ({ 'bob-signature': bobSign(b) })],
      ['hibob', 'hibob-v2-employee-updated.json', () => ({ 'bob-signature': SECRETS.hibob })],
      ['personio', 'personio-person-updated.json', () => ({ authorization: SECRETS.personio })],
      ['personio', 'personio-person-updated.json', () => ({ authorization: `${SECRETS.personio}-and-more` })],
      ['cloudevents', 'cloudevents-terminated.json', (b: Buffer) => ({ 'x-scim-sync-signature': scimSign(b, unix(NOW)) })],
      ['cloudevents', 'cloudevents-terminated.json', () => ({ 'x-scim-sync-signature': `t=${unix(NOW)},v1=${SECRETS.cloudevents}` })],
    ] as const) {
      const body = fixture(file);
      await send(endpoint(format), body, headers(body), s);
      // The same with a body that fails after verification (no key).
      const keyless = Buffer.from('{}');
      await send(endpoint(format), keyless, headers(keyless), s);
    }
    expect(seen.map((r) => r.status)).toEqual([202, 400, 401, 401, 202, 400, 401, 401, 202, 400, 401, 401, 202, 400, 401, 401]);
    const everything = JSON.stringify(seen.map((r) => [r.body, r.log]));
    for (const secret of Object.values(SECRETS)) {
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(Buffer.from(secret).toString('base64'));
    }
    // Nor a signature or token a sender put in a header.
    expect(everything).not.toMatch(/[0-9a-f]{64}/);
    expect(everything).not.toContain('personio-token');
  });
});
