/**
 * bench/scaling: how well this machine runs two compute-bound threads at once (a pure floating-point loop, no
 * memory traffic): the ceiling for the fit's 2-thread speedup. Run: npx tsx bench/scaling.ts
 */
import { Worker } from 'node:worker_threads';

function work(n: number): number {
  let x = 0.5;
  let s = 0;
  for (let i = 0; i < n; i++) {
    x = x * 0.999 + 0.0005 / (x + 1);
    s += x;
  }
  return s;
}

const N = 3e8;
const source = `const { parentPort, workerData } = require('node:worker_threads');
${work.toString()}
parentPort.postMessage(work(workerData));`;

for (let r = 0; r < 3; r++) {
    let t0 = performance.now();
    work(N);
    const one = performance.now() - t0;
    t0 = performance.now();
    await Promise.all([0, 1].map(() => new Promise((done) => new Worker(source, { eval: true, workerData: N }).on('message', done))));
    const two = performance.now() - t0;
    console.log(`one loop ${one.toFixed(0)} ms; two in parallel ${two.toFixed(0)} ms; scaling ${((2 * one) / two).toFixed(2)}x`);
}
