/**
 * `run --metrics-file`: the metrics of a run from cron, for node_exporter's textfile collector
 * (`--collector.textfile.directory`; the file must end in `.prom`). Written atomically (a scrape
 * sees the last run's file or this one, never half) and readable by the exporter (0644 before the
 * umask: it holds counts and target names, no secret).
 *
 * A run is a short process, but its counters are meant to go up from run to run, and "last
 * successful cycle" must survive a run that failed: the previous file's counters are added to this
 * run's, and its last-success times kept for the targets that did not succeed now. Histograms are
 * this run's alone (a histogram summed over runs says little about the last one).
 */
import { readFile } from 'node:fs/promises';
import { Counter, Gauge } from 'prom-client';
import { writeFileAtomic } from '../state/atomic-write.js';
import type { Metrics } from './metrics.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** `name{a="x",b="y"} 3` lines of the text format (our own file: no timestamps, no exotic escapes beyond \\ \" \n). */
export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const value = Number(m[3]);
    if (Number.isFinite(value)) samples.push({ name: m[1]!, labels, value });
  }
  return samples;
}

/** Adds the previous file's counters to `metrics`, and keeps its last-success times where this run set none. */
async function carryOver(file: string, metrics: Metrics): Promise<void> {
  const previous = await readFile(file, 'utf8').catch(() => '');
  const success = await metrics.lastSuccess.get();
  const setNow = new Set(success.values.map((v) => v.labels['target']));
  for (const s of parseSamples(previous)) {
    const metric = metrics.registry.getSingleMetric(s.name);
    if (metric instanceof Counter && s.value > 0) metric.inc(s.labels, s.value);
    else if (metric === metrics.lastSuccess && metric instanceof Gauge && !setNow.has(s.labels['target'])) metric.set(s.labels, s.value);
  }
}

export async function writeMetricsFile(file: string, metrics: Metrics): Promise<void> {
  await carryOver(file, metrics);
  await writeFileAtomic(file, await metrics.registry.metrics(), 0o644);
}
