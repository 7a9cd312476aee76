/** A fit worker, kept warm between fits: each message is one fit to help with. */
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { maxSequenceLength, warmUpEStep } from '../bkt/em.js';
import type { WorkerJob, WorkerMessage } from './protocol.js';
import { runWork, workCount } from './work.js';

// Compiled while the parent still reads its input: the first fit then runs on optimized code from its first row.
warmUpEStep();

let currentNiceness: number | null = null;
let alpha = new Float64Array(0);

/** One stage of a fit: take units from the shared counter until none are left, posting each outcome. */
parentPort!.on('message', ({ job, input }: WorkerJob) => {
  const { data, next, niceness } = input;
  if (niceness !== currentNiceness) {
    try {
      // On Linux this sets the priority of this thread alone; elsewhere it may apply to the process or fail.
      setPriority(niceness ?? 0);
      currentNiceness = niceness;
    } catch {
      // Not permitted here: run at the priority we have.
    }
  }
  const need = 2 * maxSequenceLength(data);
  if (alpha.length < need) alpha = new Float64Array(need);
  const post = (m: WorkerMessage) => parentPort!.postMessage(m);
  const count = workCount(input);
  for (let i = Atomics.add(next, 0, 1); i < count; i = Atomics.add(next, 0, 1)) post({ ...runWork(input, i, alpha), job });
  post({ kind: 'done', job });
});
