import type { ScimType } from './errors.js';

/**
 * Fault injection: rules that make chosen requests fail the way real servers and networks do
 * (429 with Retry-After, 503, a socket that never answers, a reset, a slow answer).
 */

export type FaultAction =
  /**
   * Answer with this status and a SCIM error body (e.g. 429 with retryAfter "2", 503; a 500 with
   * scimType invalidSyntax). `answeredAs`: the HTTP status sent instead, the body still naming
   * `status` (gateways that answer 200 to a refused request).
   */
  | { type: 'status'; status: number; retryAfter?: string; detail?: string; scimType?: ScimType; answeredAs?: number }
  /**
   * With `when: 'after'`: the write is committed and answered as usual, but the answer lacks the
   * resource's id and its Location ends in /undefined (a gateway that lost the id on the way).
   */
  | { type: 'no-id' }
  /** Never answer; the socket stays open until the client gives up or the sandbox closes. */
  | { type: 'hang' }
  /** Destroy the socket without an answer. */
  | { type: 'reset' }
  /** Answer normally after `ms` milliseconds. */
  | { type: 'delay'; ms: number };

export interface FaultRule {
  /** HTTP method to match, e.g. 'POST'; any when omitted. Case-insensitive. */
  method?: string;
  /** Path after basePath to match: a string is a prefix ('/Users'), a RegExp is tested. Any when omitted. */
  path?: RegExp | string;
  /** How many matching requests the rule applies to; default 1; Infinity allowed. */
  times?: number;
  /**
   * 'before' (default): fail instead of handling the request.
   * 'after': handle it and commit the change, then fail the response (the client cannot know it worked).
   */
  when?: 'before' | 'after';
  action: FaultAction;
}

interface ActiveRule {
  readonly rule: FaultRule;
  remaining: number;
}

/** Rules in insertion order; the first that matches a request applies and is used up. */
export class FaultSet {
  private rules: ActiveRule[] = [];

  add(rule: FaultRule): void {
    const times = rule.times ?? 1;
    if (!(times >= 1)) throw new Error(`fault rule "times" must be at least 1, got ${String(rule.times)}`);
    if (rule.action.type === 'delay' && !(rule.action.ms >= 0)) throw new Error('fault rule delay "ms" must be a non-negative number');
    this.rules.push({ rule, remaining: times });
  }

  clear(): void {
    this.rules = [];
  }

  get size(): number {
    return this.rules.length;
  }

  /** The rule that applies to this request, counting it as used; undefined when none matches. */
  take(method: string, path: string): FaultRule | undefined {
    if (this.rules.length === 0) return undefined;
    const index = this.rules.findIndex(({ rule }) => matches(rule, method, path));
    if (index < 0) return undefined;
    const active = this.rules[index]!;
    active.remaining--;
    if (active.remaining <= 0) this.rules.splice(index, 1);
    return active.rule;
  }
}

function matches(rule: FaultRule, method: string, path: string): boolean {
  if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) return false;
  if (rule.path === undefined) return true;
  if (typeof rule.path === 'string') return path.startsWith(rule.path);
  rule.path.lastIndex = 0; // a /g or /y RegExp keeps state between tests
  return rule.path.test(path);
}
