/**
 * Each vendor's payload, from the samples in test/fixtures/events, read into events: who is named
 * (by the default keyField and by a configured one), what happened, and a future effective date
 * kept. Pure: parseEvents over bytes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { events as eventsSchema } from '../../src/config/schema/events.js';
import { Secret } from '../../src/config/secret.js';
import { endpointSettings } from '../../src/sources/events/endpoint-settings.js';
import { EventPayloadError } from '../../src/sources/events/inbound-event.js';
import { parseEvents } from '../../src/sources/events/parse-events.js';
import { effectiveDate } from '../../src/sources/events/subject-fields.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'events', name));

function delivery(format: string, file: string | Buffer, extra: Record<string, unknown> = {}) {
  const config = eventsSchema.parse({ hr: { format, secret: new Secret('format-test-secret', 'env:S'), ...extra } })['hr']!;
  return parseEvents(typeof file === 'string' ? fixture(file) : file, endpointSettings({ ...config, name: 'hr' }));
}

const parse = (format: string, file: string | Buffer, extra: Record<string, unknown> = {}) => [...delivery(format, file, extra).events];

const problem = (f: () => unknown) => {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(EventPayloadError);
    return (error as Error).message;
  }
  throw new Error('no problem found');
};

describe('BambooHR', () => {
  it('field-based: a batch gives every employee id; kinds from action; one delivery id', () => {
    const events = parse('bamboohr', 'bamboohr-field-based.json');
    expect(events.map((e) => [e.kind, e.type, e.keys])).toEqual([
      ['changed', 'Updated', ['4127', '4128']],
      ['created', 'Created', ['4391']],
    ]);
    expect(new Set(events.map((e) => e.id)).size).toBe(1);
    expect(events[0]!.id).toMatch(/^bamboohr:sha256:[0-9a-f]{64}$/);
    expect(events.every((e) => e.effectiveAt === undefined)).toBe(true);
  });

  it('field-based, keyed by a posted field ("Employee #") and with a termination date field', () => {
    const { events, skipped } = delivery('bamboohr', 'bamboohr-field-based.json', { keyField: 'Employee #', effectiveAtField: 'Termination Date' });
    expect(events.map((e) => [e.keys, e.effectiveAt?.toISOString()])).toEqual([
      [['E1001'], undefined],
      [['E1002'], '2026-03-31T00:00:00.000Z'],
    ]);
    // BambooHR posts no fields with Created: that one is left to the next cycle, the rest are taken.
    expect(skipped).toEqual(['employees[2] (Created): BambooHR posts no fields with it, so nothing at "Employee #"']);
    // An Updated employee posted without the field is a configuration to fix: the delivery is refused, saying where.
    const body = Buffer.from(fixture('bamboohr-field-based.json').toString().replace('"Employee #": "E1002", ', ''));
    expect(problem(() => parse('bamboohr', body, { keyField: 'Employee #' }))).toBe(
      'employees[1]: no person key at "Employee #" (set keyField to where the payload names the source key)',
    );
  });

  it('event-based: the one employee by id', () => {
    expect(parse('bamboohr', 'bamboohr-event-based.json')).toEqual([
      { id: expect.stringMatching(/^bamboohr:sha256:/), keys: ['4127'], kind: 'changed', type: 'employee.updated' },
    ]);
  });

  it('a payload of another shape is named as such', () => {
    expect(problem(() => parse('bamboohr', Buffer.from('{"hello":1}')))).toBe(
      'not a BambooHR webhook payload: expected "employees" (field-based) or "type" and "data" (event-based)',
    );
  });
});

describe('HiBob', () => {
  it('v2 employee.updated: data.employeeId', () => {
    expect(parse('hibob', 'hibob-v2-employee-updated.json')).toEqual([
      { id: expect.stringMatching(/^hibob:sha256:/), keys: ['3411908267411382910'], kind: 'changed', type: 'employee.updated' },
    ]);
  });

  it('v2 lifecycle table entry: the future effective date is kept', () => {
    const [event] = parse('hibob', 'hibob-v2-lifecycle-entry.json');
    expect(event).toMatchObject({ keys: ['3411908267411382911'], effectiveAt: new Date('2026-03-31T00:00:00Z'), type: 'table.entry.created' });
  });

  it('v1 employee.left: employee.id, a termination; another key by employee.email', () => {
    expect(parse('hibob', 'hibob-v1-employee-left.json')[0]).toMatchObject({ keys: ['3411908267411382912'], kind: 'terminated' });
    expect(parse('hibob', 'hibob-v1-employee-left.json', { keyField: 'employee.email' })[0]!.keys).toEqual(['noor.haddad@example.com']);
  });
});

describe('Personio', () => {
  it('person.* by payload.id, employment.* by payload.person.id', () => {
    expect(parse('personio', 'personio-person-updated.json')[0]).toMatchObject({ keys: ['20931455'], kind: 'changed', type: 'person.updated' });
    expect(parse('personio', 'personio-employment-terminated.json')[0]).toMatchObject({ keys: ['20931460'], kind: 'terminated' });
    // A configured keyField applies to every event.
    expect(parse('personio', 'personio-employment-terminated.json', { keyField: 'id' })[0]!.keys).toEqual(['77120391']);
  });
});

describe('CloudEvents', () => {
  it('one event: subject, the type\'s last segment, data.effectiveAt; source and id make the delivery id', () => {
    expect(parse('cloudevents', 'cloudevents-terminated.json')).toEqual([
      {
        id: 'urn:example:hr 7d1c2e0a-6f43-4c38-9d0e-2b6f3f0c9a11',
        keys: ['E1042'],
        kind: 'terminated',
        type: 'com.example.hr.employee.terminated',
        effectiveAt: new Date('2026-03-31T17:00:00Z'),
      },
    ]);
  });

  it('a batch: one event each', () => {
    expect(parse('cloudevents', 'cloudevents-batch.json').map((e) => [e.id, e.keys, e.kind])).toEqual([
      ['urn:example:hr b-0001', ['E1043'], 'changed'],
      ['urn:example:hr b-0002', ['E1044'], 'created'],
    ]);
  });

  it('the attributes CloudEvents requires, and keys that are not keys', () => {
    expect(problem(() => parse('cloudevents', Buffer.from('[{"specversion":"1.0","id":"1","type":"t","subject":"E1"}]')))).toBe(
      'event 1 of 1: "source" is missing or not a non-empty string (CloudEvents requires it)',
    );
    expect(problem(() => parse('cloudevents', Buffer.from('{"specversion":"2.0","id":"1","source":"s","type":"t","subject":"E1"}')))).toBe('event: specversion must be 1.x');
    expect(problem(() => parse('cloudevents', Buffer.from('{"specversion":"1.0","id":"1","source":"s","type":"t","subject":{"id":"E1"}}')))).toBe(
      'event: the person key at "subject" is not a string or an integer',
    );
    expect(problem(() => parse('cloudevents', Buffer.from('{"specversion":"1.0","id":"1","source":"s","type":"t","subject":"E1\\u001b[2J"}')))).toContain('control character');
    expect(problem(() => parse('cloudevents', Buffer.from([0x7b, 0xff, 0x7d])))).toBe('the body is not UTF-8 text');
  });
});

describe('effective dates', () => {
  it('the forms HR systems write, and dates that do not exist', () => {
    const at = (v: string) => effectiveDate(v, 'f', 'here')?.toISOString();
    expect(at('2026-03-31')).toBe('2026-03-31T00:00:00.000Z');
    expect(at('2026-01-31T18:42:00+0000')).toBe('2026-01-31T18:42:00.000Z');
    expect(at('2026-03-31T17:00:00-05:00')).toBe('2026-03-31T22:00:00.000Z');
    expect(at('2024-12-26T11:29:14.399997')).toBe('2024-12-26T11:29:14.399Z');
    expect(effectiveDate('', 'f', 'here')).toBeUndefined();
    for (const bad of ['2026-02-30', '2026-13-01', '31/03/2026', '2026-03-31T24:00:00Z', 'tomorrow']) {
      expect(() => effectiveDate(bad, 'f', 'here')).toThrow('here: the effective date at "f" is not an ISO 8601 date or date-time');
    }
  });
});
