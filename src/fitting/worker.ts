/** A fit worker: takes units from the shared counter until none are left, posting each outcome. */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { maxSequenceLength, runUnit } from '../bkt/index.js';
import type { WorkerInput, WorkerMessage } from './protocol.js';

const { data, units, options, next, niceness } = workerData as WorkerInput;
if (niceness !== null) {
  try {
    // On Linux this lowers the priority of this thread alone; elsewhere it may apply to the process or fail.
    setPriority(niceness);
  } catch {
    // Not permitted here: run at the normal priority.
  }
}
const alpha = new Float64Array(2 * maxSequenceLength(data));
const post = (m: WorkerMessage) => parentPort!.postMessage(m);
for (let i = Atomics.add(next, 0, 1); i < units.length; i = Atomics.add(next, 0, 1)) {
  post({ kind: 'unit', index: i, outcome: runUnit(data, units[i], options, alpha) });
}
post({ kind: 'done' });
