/**
 * The parked changes around a cycle (planning/parked.ts decides, state/write-memory.ts keeps): read
 * for the planner, and forgotten once a plan no longer refers to them: the change was made since,
 * or its source value changed (then it is a new change, planned again). Only a whole cycle forgets:
 * one person's plan or a saved plan does not see everyone's changes.
 */
import type { Plan } from '../model/plan.js';
import { referencedKeys, type ParkedChanges } from '../planning/parked.js';
import type { WriteMemory } from '../state/write-memory.js';

/** The changes parked for a target (not those still counting runs). */
export async function parkedFor(memory: WriteMemory, target: string): Promise<ParkedChanges> {
  return new Map([...(await memory.parked(target))].filter(([, entry]) => entry.parked));
}

/** After a cycle's plan: the entries of each planned target that its plan does not refer to are forgotten. */
export async function forgetSettledParked(memory: WriteMemory, plan: Plan): Promise<void> {
  for (const tp of plan.targets) {
    if (tp.error) continue;
    const stored = await memory.parked(tp.target);
    if (stored.size === 0) continue;
    const referenced = referencedKeys(tp.phases, tp.parked);
    await memory.forget(tp.target, [...stored.keys()].filter((key) => !referenced.has(key)));
  }
}
