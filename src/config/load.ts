/**
 * Reads org.yaml: YAML -> references resolved -> secrets wrapped -> validated. Every problem is
 * reported at once with its dotted path and, where the YAML parser knows it, the line.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isNode, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type * as z from 'zod';
import { ConfigError } from '../errors.js';
import { plainHttpOffLoopback } from './plain-http.js';
import { resolveReferences, type ResolvedString } from './references.js';
import { configSchema, holdsCredential, SECRET_KEYS, type Config } from './schema/index.js';
import { nearestName } from './nearest-name.js';
import { MIN_SECRET_LENGTH, Secret, registerSecret } from './secret.js';
import { resolveQuirks } from './profiles.js';
import { sourceEntries } from './source-setup.js';
import { headerCredentialProblem, urlCredentialProblem } from './misplaced-credentials.js';

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the config file. */
  file: string;
  /** Absolute state directory (link store, lock, audit). */
  stateDir: string;
  /** Absolute audit log path. */
  auditFile: string;
  /** Things that work but deserve attention (a secret written inline, for example). */
  warnings: string[];
}

type Path = (string | number)[];

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => {
    if (typeof key === 'number') return `${acc}[${key}]`;
    return acc === '' ? String(key) : `${acc}.${String(key)}`;
  }, '');
}

function lineOf(doc: Document, counter: LineCounter, path: readonly PropertyKey[]): number | undefined {
  // Walk up until a node exists: a missing key is reported at its parent's line. A key of a map is
  // reported at the key itself, not at its value (which may start on the next line).
  for (let depth = path.length; depth >= 0; depth--) {
    const parent = depth > 0 ? doc.getIn(path.slice(0, depth - 1) as Path, true) : undefined;
    const pair = isMap(parent) ? parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(path[depth - 1])) : undefined;
    const node = isNode(pair?.key) ? pair.key : doc.getIn(path.slice(0, depth) as Path, true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

/** `env:NAME` / `file:path` / null, as a person reads it. */
function originOf(origin: string | null): string {
  if (origin === null) return 'the value written inline';
  const [kind, ...rest] = origin.split(':');
  return kind === 'env' ? `environment variable ${rest.join(':')}` : `file ${rest.join(':')}`;
}

/**
 * An empty credential would go out as `Bearer ` with nothing after it; a short one cannot be
 * redacted safely (see MIN_SECRET_LENGTH). For a Redis URL, the rule is for its password.
 */
function secretProblem(key: string, value: string, origin: string | null): string | undefined {
  let credential = value;
  if (key === 'redis') {
    try {
      credential = decodeURIComponent(new URL(value).password);
    } catch {
      return undefined; // not a URL: the Redis connection says so
    }
    if (credential === '') return undefined;
  }
  if (credential === '') return `${originOf(origin)} is empty${origin?.startsWith('env:') ? ' (set but empty)' : ''}`;
  // Trimmed: a server quotes a header without the white space at its ends, and that form is what must be redacted.
  if (credential.trim().length < MIN_SECRET_LENGTH) {
    return `the credential from ${originOf(origin)} is shorter than ${MIN_SECRET_LENGTH} characters: too short to keep out of output, and too weak`;
  }
  // A newline left by `echo` or an editor: no server would take it in a header, and the HTTP client
  // refuses to send one, a refusal that read as a connection failure tried again until the run hung.
  // A service-account key (`credentials`) is a JSON document, written over many lines.
  const control = key === 'credentials' ? null : /[\u0000-\u001f\u007f]/.exec(credential);
  if (control) {
    const c = control[0];
    const name = c === '\n' ? 'a line break' : c === '\r' ? 'a carriage return' : c === '\t' ? 'a tab' : `the control character U+${c.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}`;
    return `the credential from ${originOf(origin)} holds ${name}${control.index === credential.length - 1 ? ' at its end' : ''}: remove it (printf rather than echo; no blank line at the end of a file)`;
  }
  return undefined;
}

interface SchemaDef {
  type: string;
  shape?: Record<string, { _zod: { def: SchemaDef } }>;
  [key: string]: unknown;
}

/** The keys the schema allows in the object at `path` (every alternative of a union counts). */
function keysAt(path: readonly PropertyKey[]): Set<string> {
  const keys = new Set<string>();
  const visit = (schema: unknown, rest: readonly PropertyKey[]): void => {
    const def = (schema as { _zod?: { def: SchemaDef } } | undefined)?._zod?.def;
    if (!def) return;
    switch (def.type) {
      case 'object':
        if (rest.length === 0) for (const k of Object.keys(def.shape!)) keys.add(k);
        else visit(def.shape![String(rest[0])], rest.slice(1));
        return;
      case 'record':
        return visit(def['valueType'], rest.slice(1));
      case 'array':
        return visit(def['element'], rest.slice(1));
      case 'union':
        for (const option of def['options'] as unknown[]) visit(option, rest);
        return;
      case 'intersection':
        visit(def['left'], rest);
        return visit(def['right'], rest);
      case 'pipe':
        return visit(def['in'], rest);
      case 'lazy':
        return visit((def['getter'] as () => unknown)(), rest);
      default:
        // optional, nullable, default, catch, readonly...: the wrapped schema.
        if ('innerType' in def) visit(def['innerType'], rest);
    }
  };
  visit(configSchema, path);
  return keys;
}

/**
 * One line per problem, at the line of what it is about: an unknown key at its own line, with the
 * nearest allowed key; a bad record key (a target name) with the rule it breaks.
 */
function issueProblems(issue: z.core.$ZodIssue, doc: Document, counter: LineCounter): string[] {
  const at = (path: readonly PropertyKey[], message: string) => {
    const line = lineOf(doc, counter, path);
    return `${formatPath(path) || '(top level)'}${line ? ` (line ${line})` : ''}: ${message}`;
  };
  if (issue.code === 'unrecognized_keys') {
    const allowed = keysAt(issue.path);
    return issue.keys.map((key) => {
      const near = nearestName(key, allowed);
      return at([...issue.path, key], `unknown key${near ? `; did you mean ${near}?` : ''}`);
    });
  }
  if (issue.code === 'invalid_key') return [at(issue.path, issue.issues.map((i) => i.message).join('; '))];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // "Invalid input" says nothing: the branch that got furthest (its problem deepest in the value)
    // is the one that was meant, e.g. a scope clause written `{department: Engineering}` for `{department: {eq: Engineering}}`.
    const depth = (branch: readonly z.core.$ZodIssue[]) => Math.max(...branch.map((i) => i.path.length));
    const meant = issue.errors.reduce((best, branch) => (branch.length > 0 && depth(branch) > depth(best) ? branch : best));
    if (meant.length > 0 && depth(meant) > 0) return meant.flatMap((i) => issueProblems({ ...i, path: [...issue.path, ...i.path] } as z.core.$ZodIssue, doc, counter));
  }
  return [at(issue.path, issue.message)];
}

/** Header names that may carry a credential, broader than the ones refused in quirks (misplaced-credentials.ts). */
const CREDENTIAL_LIKE_HEADER = /auth|token|secret|passw|key|sig|cookie|session|credential/i;

/** Of what the references in `text` (at `path`) resolved to, the parts that are credentials (see prepare). */
function credentialParts(path: Path, text: string, { parts, at }: ResolvedString): readonly string[] {
  if (parts.length === 0) return [];
  const header = path.length === 5 && path[0] === 'targets' && path[2] === 'quirks' && path[3] === 'headers';
  if (header) return CREDENTIAL_LIKE_HEADER.test(String(path[4])) ? parts : [];
  if (!(path.length === 4 && path[0] === 'notifications' && path[1] === 'webhooks' && path[3] === 'url')) return [];
  // Where the path starts in the text as written: references after it are in the path or query.
  const scheme = text.indexOf('://');
  const pathStart = scheme < 0 ? 0 : text.indexOf('/', scheme + 3);
  if (pathStart < 0) return [];
  return parts.filter((_, i) => at[i]! > pathStart);
}

interface Preparing {
  readonly baseDir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly problems: string[];
  readonly warnings: string[];
  /** A path as problems name it, with its line. */
  readonly where: (path: Path) => string;
  /** Paths whose references could not be resolved: the schema's complaint about the empty value left there would say it twice. */
  readonly unresolved: Set<string>;
}

/** Resolve references in every string and wrap credential keys in Secret. */
function prepare(value: unknown, path: Path, p: Preparing): unknown {
  if (typeof value === 'string') {
    const before = p.problems.length;
    const resolved = resolveReferences(value, p.baseDir, p.env, p.problems, formatPath(path));
    if (p.problems.length > before) {
      p.unresolved.add(formatPath(path));
      // Its line only now: looking it up for every string of a large config was quadratic in a map's size.
      const label = p.where(path);
      for (let i = before; i < p.problems.length; i++) p.problems[i] = `${label}${p.problems[i]!.slice(formatPath(path).length)}`;
    }
    const key = path[path.length - 1];
    if (typeof key === 'string' && SECRET_KEYS.has(key)) {
      // A reference that could not be resolved is reported already.
      const wrong = p.problems.length === before ? secretProblem(key, resolved.value, resolved.origin) : undefined;
      if (wrong) p.problems.push(`${formatPath(path)}: ${wrong}`);
      if (!resolved.referenced && holdsCredential(key, resolved.value)) {
        p.warnings.push(`${formatPath(path)}: credential written inline; prefer \${env:NAME} or \${file:path}`);
      }
      return new Secret(resolved.value, resolved.origin ?? 'inline');
    }
    // What a credential-like header (an API gateway's subscription key) or a webhook URL's path or
    // query (a chat webhook's token) takes from the environment or a file is redacted from
    // everything printed, as secrets are. Not any header (a tenant id is data, and would be
    // scrubbed from names and emails too), nor a URL's host.
    for (const part of credentialParts(path, value, resolved)) registerSecret(part);
    return resolved.value;
  }
  if (Array.isArray(value)) return value.map((v, i) => prepare(v, [...path, i], p));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, prepare(v, [...path, k], p)]));
  }
  return value;
}

function problemsFound(file: string, problems: string[]): ConfigError {
  return new ConfigError(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`, problems);
}

export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      `${file}: not valid YAML`,
      doc.errors.map((e) => `line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`),
    );
  }
  const baseDir = dirname(file);
  const problems: string[] = [];
  const warnings: string[] = [];
  const unresolved = new Set<string>();
  const where = (path: Path) => {
    const line = lineOf(doc, counter, path);
    return `${formatPath(path)}${line ? ` (line ${line})` : ''}`;
  };
  const raw = prepare(doc.toJS(), [], { baseDir, env, problems, warnings, where, unresolved });
  // jitless: zod would otherwise compile a parser per object schema with `new Function` on the first
  // parse, which pays off over thousands of parses; a process parses its config once, and the
  // compiling cost a cold start 42M instructions of the config load's 220M (callgrind, #19).
  const parsed = configSchema.safeParse(raw ?? {}, { jitless: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (!unresolved.has(formatPath(issue.path as Path))) problems.push(...issueProblems(issue, doc, counter));
    }
  }
  if (problems.length > 0 || !parsed.success) {
    throw problemsFound(file, problems);
  }
  const config = parsed.data;
  const misplaced: [Path, string | undefined][] = [];
  for (const [name, t] of Object.entries(config.targets)) {
    const urls: [Path, string][] = [[['targets', name, 'url'], t.url]];
    if (t.auth.type === 'oauth2') urls.push([['targets', name, 'auth', 'tokenUrl'], t.auth.tokenUrl]);
    misplaced.push(...urls.map(([path, url]): [Path, string | undefined] => [path, urlCredentialProblem(url, `targets.${name}.auth`)]));
    misplaced.push([['targets', name, 'quirks', 'headers'], headerCredentialProblem(t.quirks.headers, `targets.${name}.auth`)]);
  }
  // A webhook's URL is printed when a delivery fails, and logged by every proxy on the way.
  config.notifications.webhooks.forEach((w, i) => {
    misplaced.push([['notifications', 'webhooks', i, 'url'], urlCredentialProblem(w.url, `notifications.webhooks[${i}].secret`)]);
    // A Slack incoming webhook's URL is its credential (the path is the token): never shown.
    if (w.format === 'slack') registerSecret(w.url);
  });
  for (const [path, wrong] of misplaced) {
    const line = lineOf(doc, counter, path);
    if (wrong) problems.push(`${formatPath(path)}${line ? ` (line ${line})` : ''}: ${wrong}`);
  }
  if (problems.length > 0) throw problemsFound(file, problems);
  for (const { path, config: source } of sourceEntries(config.source)) {
    if (source.type === 'csv') {
      source.path = resolve(baseDir, source.path);
      if (source.memberships) source.memberships.path = resolve(baseDir, source.memberships.path);
    }
    if (source.type === 'ldap') {
      if (source.tls.caFile) source.tls.caFile = resolve(baseDir, source.tls.caFile);
      if (source.bind && /^ldap:/i.test(source.url) && !source.startTls && !/^ldap:\/\/(127\.|localhost|\[::1\])/i.test(source.url)) {
        warnings.push(`${path}.startTls: false on ldap:// sends the bind password unencrypted; use ldaps:// or StartTLS`);
      }
    }
    if (source.type === 'google' && plainHttpOffLoopback(source.apiUrl)) {
      warnings.push(`${path}.apiUrl: plain http sends the access token unencrypted; use https`);
    }
  }
  const stateDir = resolve(baseDir, config.state.dir);
  const auditFile = config.audit.file ? resolve(baseDir, config.audit.file) : resolve(stateDir, 'audit.jsonl');
  for (const [name, t] of Object.entries(config.targets)) {
    if (plainHttpOffLoopback(t.url)) warnings.push(`targets.${name}.url: plain http sends the credential unencrypted; use https`);
    if (t.auth.type === 'oauth2' && plainHttpOffLoopback(t.auth.tokenUrl)) {
      warnings.push(`targets.${name}.auth.tokenUrl: plain http sends the client secret unencrypted; use https`);
    }
    if (t.tls) {
      for (const key of ['ca', 'cert', 'key'] as const) {
        const file = t.tls[key];
        if (file !== undefined) t.tls[key] = resolve(baseDir, file);
      }
    }
    if (t.deprovision === 'delete' && !resolveQuirks(t.profile, t.quirks).supportsDelete) {
      warnings.push(`targets.${name}.deprovision: delete, but this server has no DELETE (profile ${t.profile} / quirks.supportsDelete): leavers are deactivated instead`);
    }
  }
  return { config, file, stateDir, auditFile, warnings };
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const absolute = resolve(file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config ${absolute} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, [], { cause: error });
  }
  return parseConfig(text, absolute, env);
}
