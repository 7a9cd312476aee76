/**
 * The core's fitting on worker threads. The unit of work is one (concept, restart) pair, handed out largest
 * first from a shared counter, so a concept holding 41% of the rows starts at once and small ones fill the gaps.
 * Each unit is pure (its restart is seeded by seed, concept id and restart index alone), so the result is the
 * same for any thread count: `fitDatasetParallel(d, {threads: 2})` equals `fitDataset(d)`.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import {
  type DatasetFit, type FitOptions, makeFitOptions, type ResponseData, VARIANT_KINDS, type VariantColumn, type VariantData,
  type VariantKind,
} from '../bkt/index.js';
import { maxSequenceLength, warmUpEStep } from '../bkt/em.js';
import { assembleFit, type FitUnit, planFit, type RestartOutcome, runUnit } from '../bkt/fit.js';
import type { WorkerInput, WorkerMessage } from './protocol.js';

export interface ParallelOptions {
  /** Worker threads; 1 runs on the calling thread. Default: the machine's available parallelism. */
  threads?: number;
  /**
   * Work (rows summed over units) below which one more thread costs more to start than it saves. Default
   * 500,000: a small data set is fitted on this thread alone. Tests set 0 to force workers.
   */
  minRowsPerThread?: number;
  /** Whether the calling thread takes units too (default true). Tests turn it off to make workers do all. */
  callerWorks?: boolean;
  /**
   * Nice value of the worker threads (0 to 19; Linux applies it per thread). A service sets 10 so that EM yields the
   * CPU to request handling and the database. Default: unchanged.
   */
  niceness?: number;
  /** Aborting stops the workers and rejects with the signal's reason (units on the calling thread are not cut short). */
  signal?: AbortSignal;
  /** Called after each finished unit. */
  onProgress?: (progress: { units: number; totalUnits: number; rows: number; totalRows: number }) => void;
}

/** Copies a typed array into shared memory so every worker reads it without a copy of its own. */
function shared<T extends Uint8Array | Uint32Array>(a: T): T {
  const Ctor = a.constructor as { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number };
  const out = new Ctor(new SharedArrayBuffer(Math.max(1, a.length) * Ctor.BYTES_PER_ELEMENT));
  out.set(a);
  return a.length === 0 ? (out.subarray(0, 0) as T) : out;
}

/** The variant columns with their typed arrays in shared memory (value tables are copied: they are small). */
function sharedVariants(v: VariantData): VariantData {
  const out: { [K in VariantKind]?: VariantColumn } = {};
  for (const kind of VARIANT_KINDS) {
    const c = v[kind];
    if (c === undefined) continue;
    out[kind] = {
      column: c.column, ids: [...c.ids], codes: shared(c.codes), local: shared(c.local),
      valueStart: shared(c.valueStart), conceptValues: shared(c.conceptValues), valueRows: shared(c.valueRows),
    };
  }
  return out;
}

/**
 * execArgv: [] so a worker does not inherit the parent's loaders (tsx, test runners): it is plain JS. A small young
 * generation: a worker allocates only a few objects per EM iteration, and V8's default young generation (tens of MB)
 * filled with them before each collection was 8 MB of the peak RSS of `bkt fit` on assist2015 (bench/peers).
 */
const WORKER_OPTIONS = { execArgv: [], resourceLimits: { maxYoungGenerationSizeMb: 2 } };

/**
 * Starts one fit worker: the compiled JS normally; when this module runs from its TypeScript source (tests,
 * `tsx`), a small bootstrap registers tsx inside the worker first, since loaders do not carry into workers.
 */
function startWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker.js', import.meta.url), WORKER_OPTIONS);
  const source = new URL('./worker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); })`;
  return new Worker(bootstrap, { ...WORKER_OPTIONS, eval: true });
}

/**
 * Idle workers kept warm between fits: starting a thread and compiling the E-step again costs 50 to 100 ms, a
 * large share of a fit that takes half a second (cross-validation fits k times). Idle workers are unref'd, so
 * they never keep the process alive; a worker that fails or is aborted is terminated, not returned.
 */
const idle: Worker[] = [];
let jobCounter = 0;

function takeWorker(): Worker {
  const w = idle.pop() ?? startWorker();
  w.removeAllListeners();
  w.ref();
  return w;
}

/**
 * Starts the workers a fit on `threads` threads will use, ahead of time (for example while a CSV is being
 * parsed), so the fit does not wait for them. They wait idle and never keep the process alive. Also has the
 * E-step compiled on this thread meanwhile (em.ts's warmUpEStep), as each worker does when it starts.
 */
export function warmUpWorkers(threads: number): void {
  for (let n = idle.length; n < threads - 1; n++) returnWorker(startWorker());
  warmUpEStep();
}

function returnWorker(w: Worker): void {
  w.removeAllListeners();
  // A worker that dies while idle leaves the set instead of hanging the next fit.
  const forget = () => {
    const i = idle.indexOf(w);
    if (i >= 0) idle.splice(i, 1);
  };
  w.once('exit', forget);
  w.once('error', forget);
  w.unref();
  idle.push(w);
}

export function defaultThreads(): number {
  return availableParallelism();
}

export async function fitDatasetParallel(
  data: ResponseData,
  options: Partial<FitOptions> & ParallelOptions = {},
): Promise<DatasetFit> {
  const { threads = defaultThreads(), minRowsPerThread = 500_000, callerWorks = true, onProgress, signal, niceness, ...fitOptions } = options;
  signal?.throwIfAborted();
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be an integer >= 1, got ${threads}`);
  const o = makeFitOptions(fitOptions);
  const units = planFit(data, o);
  const totalRows = units.reduce((sum, u) => sum + u.rows, 0);
  const results: { unit: FitUnit; outcome: RestartOutcome }[] = [];
  let rowsDone = 0;
  const record = (unit: FitUnit, outcome: RestartOutcome) => {
    results.push({ unit, outcome });
    rowsDone += unit.rows;
    onProgress?.({ units: results.length, totalUnits: units.length, rows: rowsDone, totalRows });
  };

  const alpha = new Float64Array(2 * maxSequenceLength(data));
  const worthwhile = minRowsPerThread > 0 ? Math.floor(totalRows / minRowsPerThread) : units.length;
  const helpers = Math.min(threads, units.length, Math.max(1, worthwhile)) - (callerWorks ? 1 : 0);
  if (helpers <= 0) {
    for (const unit of units) record(unit, runUnit(data, unit, o, alpha));
    return assembleFit(data, o, results);
  }

  const input: WorkerInput = {
    data: {
      ...data,
      responses: shared(data.responses),
      offsets: shared(data.offsets),
      conceptSeqs: shared(data.conceptSeqs),
      seqStudent: shared(data.seqStudent),
      rowOf: new Uint32Array(0), // not needed for fitting
      conceptIds: [...data.conceptIds],
      studentIds: [],
      ...(data.variants ? { variants: sharedVariants(data.variants) } : {}),
    },
    units,
    options: o,
    next: new Int32Array(new SharedArrayBuffer(4)),
    niceness: niceness ?? null,
  };
  // threads - 1 workers, and this thread takes units from the same counter meanwhile: no thread waits for a
  // worker to start, and the work is the same whoever does it.
  const job = ++jobCounter;
  const pool = Array.from({ length: helpers }, takeWorker);
  const healthy = new Set(pool);
  const finished = pool.map(
    (w) =>
      new Promise<void>((resolve, reject) => {
        w.on('message', (m: WorkerMessage) => {
          if (m.job !== job) return;
          if (m.kind === 'done') resolve();
          else record(units[m.index], m.outcome);
        });
        w.on('error', (err) => {
          healthy.delete(w);
          reject(err);
        });
        w.on('exit', (code) => {
          healthy.delete(w);
          reject(new Error(`fit worker exited with code ${code}`));
        });
        w.postMessage({ job, input });
      }),
  );
  const aborted = new Promise<never>((_, reject) => {
    signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => {});
  let completed = false;
  try {
    for (let i = callerWorks ? Atomics.add(input.next, 0, 1) : units.length; i < units.length; i = Atomics.add(input.next, 0, 1)) {
      record(units[i], runUnit(input.data, units[i], o, alpha));
    }
    await Promise.race([Promise.all(finished), aborted]);
    completed = true;
  } finally {
    // Only workers that finished this job cleanly go back to the idle set; the others may still be running it.
    await Promise.all(pool.map((w) => (completed && healthy.has(w) ? returnWorker(w) : w.terminate())));
  }
  if (results.length !== units.length) throw new Error(`fit workers finished ${results.length} of ${units.length} units`);
  return assembleFit(data, o, results);
}
