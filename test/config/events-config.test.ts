/**
 * The `events:` section through the real loader: names fit for a URL path, a secret only by
 * reference (never inline, never printed), signature settings only where the scheme uses them, and
 * the per-format defaults filled in.
 */
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '../../src/config/schema/index.js';
import { parseConfig } from '../../src/config/load.js';
import { endpointSettings } from '../../src/sources/events/endpoint-settings.js';
import { configProblems } from '../support/config-problems.js';

const base = `
source: { type: csv, path: people.csv, key: employee_number }
targets:
  slack:
    url: https://api.slack.example/scim/v2
    auth: { type: bearer, token: "\${env:SLACK_TOKEN}" }
`;
const env = { SLACK_TOKEN: 'slack-token-123456', BAMBOO_KEY: 'bamboo-private-key-123', BOB_KEY: 'bob-secret-value-99' };
const load = (events: string) => parseConfig(`${base}events:\n${events}`, '/etc/scim-sync/org.yaml', env).config;
const problems = (events: string) => configProblems(() => load(events));

describe('events config', () => {
  it('defaults per format and scheme', () => {
    const config = load('  bamboo:\n    format: bamboohr\n    secret: "${env:BAMBOO_KEY}"\n  bob:\n    format: hibob\n    secret: "${file:/dev/null}${env:BOB_KEY}"\n');
    const bamboo = endpointSettings({ ...config.events!['bamboo']!, name: 'bamboo' });
    expect(bamboo).toEqual({
      name: 'bamboo',
      format: 'bamboohr',
      signature: { scheme: 'bamboohr', header: 'x-bamboohr-signature', timestampHeader: 'x-bamboohr-timestamp', algorithm: 'sha256', encoding: 'hex', toleranceSeconds: 300 },
      dedupMs: 259_200_000,
    });
    const bob = endpointSettings({ ...config.events!['bob']!, name: 'bob' });
    expect(bob.signature).toEqual({ scheme: 'hibob', header: 'bob-signature', algorithm: 'sha512', encoding: 'base64', toleranceSeconds: 300 });
    expect(bob.effectiveAtField).toBe('effectiveDate');
    expect(config.events!['bamboo']!.secret.reveal()).toBe('bamboo-private-key-123');
  });

  it('an inline secret is refused, and not repeated', () => {
    const found = problems('  bamboo:\n    format: bamboohr\n    secret: "inline-private-key-42"\n');
    expect(found).toEqual([
      'events.bamboo.secret (line 10): an inbound secret must be a reference, ${env:NAME} or ${file:path}: written inline it would sit in org.yaml',
    ]);
    expect(found.join('\n')).not.toContain('inline-private-key-42');
  });

  it('names that are not a URL path segment, and settings the scheme does not use', () => {
    expect(problems('  "HR/bamboo":\n    format: bamboohr\n    secret: "${env:BAMBOO_KEY}"\n')).toEqual([
      'events.HR/bamboo (line 8): endpoint names use lowercase letters, digits, "-" and "_" (1-63 characters, starting with a letter or digit): they become /events/<name>',
    ]);
    expect(
      problems(
        '  bob:\n    format: hibob\n    secret: "${env:BOB_KEY}"\n    signature: { scheme: hibob, timestampHeader: X-Time }\n' +
          '  relay:\n    format: personio\n    secret: "${env:BOB_KEY}"\n    signature: { algorithm: sha512 }\n' +
          '  odd:\n    format: cloudevents\n    secret: "${env:BOB_KEY}"\n    keyField: "data..id"\n    toleranceSeconds: 0\n',
      ),
    ).toEqual([
      'events.bob.signature.timestampHeader (line 11): only scheme bamboohr signs a timestamp header (scheme is hibob)',
      'events.relay.signature.algorithm (line 15): not used by scheme token',
      'events.odd.keyField (line 19): a field name or a dotted path (data.employeeId), no empty segment',
      'events.odd.toleranceSeconds (line 20): Too small: expected number to be >0',
    ]);
  });

  it('an event id must be remembered at least twice as long as a signed timestamp is accepted', () => {
    expect(problems('  bamboo:\n    format: bamboohr\n    secret: "${env:BAMBOO_KEY}"\n    toleranceSeconds: 600\n    dedupSeconds: 900\n')).toEqual([
      'events.bamboo.dedupSeconds (line 12): must be at least twice toleranceSeconds (1200): an event id forgotten sooner could be replayed while its signed timestamp is still accepted',
    ]);
    expect(problems('  bamboo:\n    format: bamboohr\n    secret: "${env:BAMBOO_KEY}"\n    toleranceSeconds: 600\n    dedupSeconds: 1200\n')).toEqual([]);
  });

  it('is in the JSON Schema editors read, documented', () => {
    const schema = configJsonSchema() as { properties: { events: { description: string; additionalProperties: { properties: Record<string, { description?: string }> } } } };
    expect(schema.properties.events.description).toContain('POST /events/<name>');
    const fields = schema.properties.events.additionalProperties.properties;
    expect(Object.keys(fields).sort()).toEqual(['dedupSeconds', 'effectiveAtField', 'format', 'keyField', 'secret', 'signature', 'toleranceSeconds']);
    expect(fields['keyField']!.description).toContain('Default per format: bamboohr id, hibob employeeId, personio id, cloudevents subject');
  });
});
