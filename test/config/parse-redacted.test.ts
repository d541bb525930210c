/**
 * JSON data handed out (an event endpoint's answer, a saved plan) is redacted a string at a time: a
 * credential that holds a quote can match the JSON text across a value's end, where redacting the
 * whole text would cut the structure (and the answer would no longer parse).
 */
import { describe, expect, it } from 'vitest';
import { parseRedacted, redact, registerSecret } from '../../src/config/secret.js';

describe('parseRedacted', () => {
  // Ends in a quote and a comma: the JSON text of {"a":"abcd","b12345":1} holds it, no value does.
  const secret = 'abcd","b12345';
  registerSecret(secret);

  it('leaves values that do not hold the credential as they are, where the text redacted whole no longer parses', () => {
    const json = JSON.stringify({ a: 'abcd', b12345: 1, note: 'kept' });
    expect(json).toContain(secret);
    expect(() => JSON.parse(redact(json))).toThrow(SyntaxError);
    expect(parseRedacted(json)).toEqual({ a: 'abcd', b12345: 1, note: 'kept' });
  });

  it('redacts the credential in any value that holds it, in any case, nested in arrays and objects', () => {
    const json = JSON.stringify({ error: `rejected ${secret} here`, list: [{ echo: secret.toUpperCase() }, 'plain'], n: 2, ok: true, none: null });
    const parsed = parseRedacted(json);
    expect(parsed).toEqual({ error: 'rejected [redacted] here', list: [{ echo: '[redacted]' }, 'plain'], n: 2, ok: true, none: null });
    expect(JSON.stringify(parsed).toLowerCase()).not.toContain(secret.toLowerCase());
  });
});
