/** The `quarantine` and `notifications` sections: defaults, durations, and what is refused with its place. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { Secret } from '../../src/config/secret.js';
import { configProblems } from '../support/config-problems.js';

const base = `
source: { type: csv, path: people.csv, key: id }
targets:
  slack:
    url: https://api.slack.example/scim/v2
    auth: { type: bearer, token: "\${env:SLACK_TOKEN}" }
`;
const env = { SLACK_TOKEN: 'slack-token-123456', HOOK: 'hook-secret-abcdef' };
const parse = (extra: string) => parseConfig(base + extra, '/etc/scim-sync/org.yaml', env);
const problems = (extra: string) => configProblems(() => parse(extra));

describe('quarantine and notifications config', () => {
  it('defaults: quarantine on at 40% of at least 10 operations, backing off 6h, 12h, 24h; no webhook', () => {
    const c = parse('').config;
    expect(c.quarantine).toEqual({ enabled: true, failurePercent: 40, minOperations: 10, backoff: [6 * 3_600_000, 12 * 3_600_000, 24 * 3_600_000] });
    expect(c.notifications).toEqual({ webhooks: [] });
  });

  it('reads durations and a webhook whose secret is a Secret, every event by default', () => {
    const c = parse(`quarantine: { backoff: [1ms, 30m, 1d] }\nnotifications:\n  webhooks:\n    - { url: "https://hooks.example.com/x", secret: "\${env:HOOK}" }\n`).config;
    expect(c.quarantine.backoff).toEqual([1, 1_800_000, 86_400_000]);
    const hook = c.notifications.webhooks[0]!;
    expect(hook.secret).toBeInstanceOf(Secret);
    expect(hook.secret.reveal()).toBe('hook-secret-abcdef');
    expect(hook.events).toEqual(['safety.stop', 'staged', 'quarantine.enter', 'quarantine.exit', 'cycle.failed', 'deprovision.emergency']);
    expect(hook.format).toBe('json');
  });

  it('refuses a bad duration, an unknown event and a URL with a credential, each at its place', () => {
    expect(
      problems(
        `quarantine:\n  backoff: [6 hours]\nnotifications:\n  webhooks:\n    - url: "https://u:p@hooks.example.com/x"\n      secret: "\${env:HOOK}"\n      events: [quarantine.enter, nope]\n`,
      ),
    ).toEqual([
      expect.stringMatching(/^quarantine\.backoff\[0\] \(line 8\): "6 hours" is not a duration/),
      expect.stringMatching(/^notifications\.webhooks\[0\]\.events\[1\] \(line 13\): /),
    ]);
    expect(problems(`notifications:\n  webhooks:\n    - url: "https://u:p@hooks.example.com/x"\n      secret: "\${env:HOOK}"\n`)).toEqual([
      'notifications.webhooks[0].url (line 9): holds a user name or password (user:password@host); remove it and set notifications.webhooks[0].secret instead',
    ]);
  });

  it('a webhook\'s name, which tells it apart in warnings and the log, is a plain word, one per webhook', () => {
    const hook = (name: string) => `    - { url: "https://hooks.example.com/x", secret: "\${env:HOOK}", name: "${name}" }\n`;
    expect(parse(`notifications:\n  webhooks:\n${hook('ops-pager')}`).config.notifications.webhooks[0]!.name).toBe('ops-pager');
    expect(problems(`notifications:\n  webhooks:\n${hook('pager')}${hook('chat')}${hook('pager')}${hook('a/b')}`)).toEqual([
      expect.stringMatching(/^notifications\.webhooks\[3\]\.name \(line 12\): letters, digits/),
      expect.stringMatching(/^notifications\.webhooks\[2\]\.name \(line 11\): another webhook is named pager/),
    ]);
  });
});
