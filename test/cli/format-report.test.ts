/** The run report as printed: a cycle with every target left out in quarantine made no plan, and says so. */
import { describe, expect, it } from 'vitest';
import { quarantinedOnly } from '../../src/cli/cycle-outcome.js';

describe('a cycle with every target quarantined', () => {
  it('says nothing was applied, not "Applied -", and why each target was skipped (exit 1)', () => {
    const out: string[] = [];
    const code = quarantinedOnly(new Map([['crm', 'quarantined since 2026-11-30T10:00:00.000Z: credential refused']]), new Date('2026-11-30T12:00:00Z'), {}, { out: (t) => out.push(t), err: () => undefined });
    expect(code).toBe(1);
    expect(out.join('\n')).toMatch(/^Nothing applied \(2026-11-30T12:00:00\.000Z\)\n  target crm: SKIPPED — quarantined since 2026-11-30T10:00:00\.000Z: credential refused/);
  });
});
