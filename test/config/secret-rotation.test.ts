/** Renewed tokens rotate in the redactor: the newest two of a slot are redacted, older ones forgotten; permanent secrets stay. */
import { expect, it } from 'vitest';
import { Secret, redact, registerSecret } from '../../src/config/secret.js';

it('keeps the newest two tokens of a slot, forgets older ones, and never a permanent secret', () => {
  const permanent = new Secret('permanent-secret-0001', 'env:P');
  // Unlike one another: any 12 characters in a row of a token still held are redacted wherever they are.
  const tokens = ['Rk2mQ8vX4tLp9wZc0aFe', 'Hn7bT3yD6sJq1uGx5oWi', 'Pc4zM9eK2rVf8hNl6dBy', 'Wq5jA1gU7kXo3iCt9mSe', 'Ly8fE2nZ6pRb4vHd0tKa'];
  for (const t of tokens) new Secret(t, 'oauth2:test', { rotates: 'slot-a' });
  // Another slot rotating meanwhile does not evict this one's tokens.
  registerSecret('other-slot-token-01', 'slot-b');
  registerSecret('other-slot-token-02', 'slot-b');
  registerSecret('other-slot-token-03', 'slot-b');
  const line = `${tokens.join(' ')} ${permanent.reveal()} ${Buffer.from(tokens[4]!).toString('base64')}`;
  expect(redact(line)).toBe(`${tokens[0]} ${tokens[1]} ${tokens[2]} [redacted] [redacted] [redacted] [redacted]`);
  // A value registered for good as well as in a slot stays redacted after it rotates out.
  registerSecret('shared-value-000001');
  registerSecret('shared-value-000001', 'slot-c');
  registerSecret('slot-c-newer-000001', 'slot-c');
  registerSecret('slot-c-newest-00001', 'slot-c');
  expect(redact('shared-value-000001')).toBe('[redacted]');
});
