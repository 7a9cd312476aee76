/** The work of one index of a stage, the same on a worker and on the calling thread. */
import { runKick, runUnit } from '../bkt/fit.js';
import type { WorkDone, WorkerInput } from './protocol.js';

/** How many units a stage holds. */
export function workCount(input: WorkerInput): number {
  return input.units.length + input.kicks.length;
}

/** Runs unit `i` of a stage: a restart unit, or past them a kick unit. */
export function runWork(input: WorkerInput, i: number, alpha: Float64Array): WorkDone {
  const { data, units, kicks, options } = input;
  if (i < units.length) return { kind: 'unit', index: i, outcome: runUnit(data, units[i], options, alpha) };
  const k = i - units.length;
  return { kind: 'kick', index: k, outcome: runKick(data, kicks[k], options) };
}
