/**
 * The layering, checked: every import in src/ points down the layers listed here, and no module
 * imports itself through a loop. Type-only imports count: they couple the layers all the same.
 * The rules are data; a new folder needs a line here before it can be imported.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '..', 'src');

/**
 * Top to bottom. A module may import its own folder and any folder of a lower layer, never one of
 * its own layer or above. The audit log sits above state (it writes through state's appender);
 * targets above config (a client is built from its config, its credentials and its vendor profile).
 */
const LAYERS: readonly (readonly string[])[] = [
  ['cli'],
  ['service'],
  ['engine'],
  ['execution'],
  ['planning', 'sources', 'reporting'],
  ['audit', 'notify', 'telemetry'],
  ['mapping', 'state'],
  ['targets'],
  ['config'],
  ['model', 'errors'],
];

/**
 * Sub-folders that sit above the rest of their folder: the rest may not import them. The BullMQ
 * executor builds on what both modes share (running an operation, its outcome, the report); the
 * inline executor and the shared parts know nothing of queues.
 */
const ABOVE_THEIR_FOLDER: readonly string[] = ['execution/bullmq'];

/** The one module that names Redis keys (ours and BullMQ's queues): a key built elsewhere may drift from it. */
const REDIS_KEYS = 'state/redis-keys.ts';

/** The sandbox is a separate SCIM server: it shares the data model with the client it tests, nothing else. */
const SEPARATE: Record<string, readonly string[]> = { sandbox: ['model'] };

/** src/errors.ts counts as the folder `errors`. */
function folderOf(file: string): string {
  const rel = relative(SRC, file);
  const first = rel.split(/[\\/]/)[0]!;
  return first.replace(/\.ts$/, '');
}

function within(file: string, folder: string): boolean {
  return !relative(join(SRC, folder), file).startsWith('..');
}

function layerOf(folder: string): number {
  const i = LAYERS.findIndex((l) => l.includes(folder));
  return i;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Relative imports of a file, resolved to .ts paths under src/. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => resolve(dirname(file), name).replace(/\.js$/, '.ts'));
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

export function layerViolations(): string[] {
  const problems: string[] = [];
  for (const [file, imports] of graph) {
    const from = folderOf(file);
    for (const target of imports) {
      const to = folderOf(target);
      const where = `${relative(SRC, file)} -> ${relative(SRC, target)}`;
      if (to === from) {
        const above = ABOVE_THEIR_FOLDER.find((sub) => within(target, sub) && !within(file, sub));
        if (above) problems.push(`${where}: ${above} sits above the rest of ${from}`);
        continue;
      }
      if (SEPARATE[from]) {
        if (!SEPARATE[from].includes(to)) problems.push(`${where}: ${from} may import only ${SEPARATE[from].join(', ')}`);
        continue;
      }
      if (SEPARATE[to]) {
        if (from !== 'cli') problems.push(`${where}: only cli starts the ${to}`);
        continue;
      }
      const a = layerOf(from);
      const b = layerOf(to);
      if (a < 0 || b < 0) problems.push(`${where}: folder ${a < 0 ? from : to} has no layer in test/architecture.test.ts`);
      else if (b <= a) problems.push(`${where}: ${from} may not import ${to} (${b === a ? 'same layer' : 'a higher layer'})`);
    }
  }
  return problems;
}

/** Every import loop, each once, as the files around it (Tarjan's strongly connected components). */
export function importLoops(): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const loops: string[][] = [];
  const visit = (v: string): void => {
    indices.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indices.get(w)!));
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(relative(SRC, w));
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) loops.push(component.sort());
    }
  };
  for (const f of files) if (!indices.has(f)) visit(f);
  return loops;
}

/** Files that build a name from the Redis prefix (`${prefix}:...`, `${q.prefix}:...`), other than REDIS_KEYS. */
export function redisKeysBuiltElsewhere(): string[] {
  return files
    .filter((f) => relative(SRC, f) !== REDIS_KEYS && /\$\{[\w.]*prefix\}:/i.test(readFileSync(f, 'utf8')))
    .map((f) => relative(SRC, f));
}

/** Every module `file` loads, directly or through others (dynamic imports counted too). */
export function reachable(file: string): Set<string> {
  const seen = new Set<string>();
  const walk = (f: string): void => {
    for (const g of graph.get(f) ?? []) {
      if (seen.has(g)) continue;
      seen.add(g);
      walk(g);
    }
  };
  walk(file);
  return seen;
}

/** Commands that read a little state and print: loading the planner and the commands behind a cycle would be most of their start. */
const LIGHT_COMMANDS = ['cli/log-command.ts', 'cli/unlock-command.ts', 'cli/quarantine-command.ts'];
const HEAVY = ['cli/commands.ts', 'engine/make-plan.ts', 'sources/create-source.ts'];

describe('architecture', () => {
  it('reads the imports it checks (a check that sees nothing cannot fail)', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(graph.get(join(SRC, 'cli', 'main.ts'))!.length).toBeGreaterThan(3);
  });

  it('every import points down the layers', () => {
    expect(layerViolations()).toEqual([]);
  });

  it('no import loop', () => {
    expect(importLoops()).toEqual([]);
  });

  it.each(LIGHT_COMMANDS)('%s loads no planner, source or cycle command', (command) => {
    const loads = [...reachable(join(SRC, command))].map((f) => relative(SRC, f));
    expect(loads.length).toBeGreaterThan(3);
    expect(HEAVY.filter((h) => loads.includes(h))).toEqual([]);
  });

  it(`every Redis key is named in ${REDIS_KEYS}`, () => {
    expect(readFileSync(join(SRC, REDIS_KEYS), 'utf8')).toMatch(/\$\{prefix\}:/);
    expect(redisKeysBuiltElsewhere()).toEqual([]);
  });
});
