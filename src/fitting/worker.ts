/** A fit worker: takes units from the shared counter until none are left, posting each outcome. */
import { parentPort, workerData } from 'node:worker_threads';
import { maxSequenceLength, runUnit } from '../bkt/index.js';
import type { WorkerInput, WorkerMessage } from './protocol.js';

const { data, units, options, next } = workerData as WorkerInput;
const alpha = new Float64Array(2 * maxSequenceLength(data));
const post = (m: WorkerMessage) => parentPort!.postMessage(m);
for (let i = Atomics.add(next, 0, 1); i < units.length; i = Atomics.add(next, 0, 1)) {
  post({ kind: 'unit', index: i, outcome: runUnit(data, units[i], options, alpha) });
}
post({ kind: 'done' });
