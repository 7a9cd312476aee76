/**
 * The core's fitting on worker threads. The unit of work is one (concept, restart) pair, handed out largest
 * first from a shared counter, so a concept holding 41% of the rows starts at once and small ones fill the gaps.
 * With per-value parameters a second stage follows, one unit per concept: its kicks from its best restart. Each
 * unit is pure (seeded by seed, concept id and restart index alone), so the result is the same for any thread
 * count: `fitDatasetParallel(d, {threads: 2})` equals `fitDataset(d)`.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import {
  type DatasetFit, type FitOptions, makeFitOptions, type ResponseData, VARIANT_KINDS, type VariantColumn, type VariantData,
  type VariantKind,
} from '../bkt/index.js';
import { maxSequenceLength, warmUpEStep } from '../bkt/em.js';
import { assembleFit, type FitUnit, type KickOutcome, type KickUnit, planFit, planKicks, type RestartOutcome } from '../bkt/fit.js';
import type { WorkDone, WorkerInput, WorkerMessage } from './protocol.js';
import { runWork, workCount } from './work.js';

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
  /** Called after each finished restart unit (a concept's kicks, after the last of them, are not counted). */
  onProgress?: (progress: { units: number; totalUnits: number; rows: number; totalRows: number }) => void;
  /** Called after each concept's kicks (models with per-value parameters), which follow the last restart unit. */
  onKicks?: (progress: { concepts: number; totalConcepts: number }) => void;
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
 * An old generation of at most 1 GB rather than V8's default (a share of physical memory, often several GB): V8
 * sizes a heap's first steps from its limit, and the smaller one is 1.5 MB less peak RSS of that fit. A worker's
 * heap holds the units and ids of one fit (the responses are shared memory outside it): a few MB for assist2015.
 */
const WORKER_OPTIONS = { execArgv: [], resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 1024 } };

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

/** Collects finished units and kicks in order of arrival and reports progress after each restart unit. */
class Results {
  readonly list: { unit: FitUnit; outcome: RestartOutcome }[] = [];
  readonly kicks: { unit: KickUnit; outcome: KickOutcome }[] = [];
  private rowsDone = 0;
  constructor(
    private readonly units: readonly FitUnit[],
    private readonly totalRows: number,
    private readonly onProgress: ParallelOptions['onProgress'],
    private readonly onKicks: ParallelOptions['onKicks'],
  ) {}

  /** Records unit `done.index` of the stage `input` (whose units are this fit's, or none). */
  record(input: WorkerInput, done: WorkDone): void {
    if (done.kind === 'kick') {
      this.kicks.push({ unit: input.kicks[done.index], outcome: done.outcome });
      this.onKicks?.({ concepts: this.kicks.length, totalConcepts: input.kicks.length });
      return;
    }
    const unit = input.units[done.index];
    this.list.push({ unit, outcome: done.outcome });
    this.rowsDone += unit.rows;
    this.onProgress?.({ units: this.list.length, totalUnits: this.units.length, rows: this.rowsDone, totalRows: this.totalRows });
  }
}

/** How many workers to start besides this thread: none when the work is too small to pay for a thread. */
function helperCount(threads: number, units: number, totalRows: number, minRowsPerThread: number, callerWorks: boolean): number {
  const worthwhile = minRowsPerThread > 0 ? Math.floor(totalRows / minRowsPerThread) : units;
  return Math.min(threads, units, Math.max(1, worthwhile)) - (callerWorks ? 1 : 0);
}

/** The responses in shared memory, so that workers read them without a copy each, and without what fitting does not read. */
function sharedData(data: ResponseData): ResponseData {
  return {
    ...data,
    responses: shared(data.responses),
    offsets: shared(data.offsets),
    conceptSeqs: shared(data.conceptSeqs),
    seqStudent: shared(data.seqStudent),
    rowOf: new Uint32Array(0), // not needed for fitting
    conceptIds: [...data.conceptIds],
    studentIds: [],
    ...(data.variants ? { variants: sharedVariants(data.variants) } : {}),
  };
}

/** How a fit's stages are run: the pool's options, and the data shared with workers once, when a stage needs them. */
interface StageRunner {
  readonly data: ResponseData;
  shared?: ResponseData;
  readonly options: FitOptions;
  readonly threads: number;
  readonly minRowsPerThread: number;
  readonly callerWorks: boolean;
  readonly niceness: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly results: Results;
  readonly alpha: Float64Array;
  /** Rows summed over the restart units, once they are done: 0 while they run. */
  restartRows: number;
}

/** What every worker receives for a stage: the shared responses, the stage's units and the shared unit counter. */
function workerInput(data: ResponseData, units: readonly FitUnit[], kicks: readonly KickUnit[], run: StageRunner): WorkerInput {
  return { data, units, kicks, options: run.options, next: new Int32Array(new SharedArrayBuffer(4)), niceness: run.niceness ?? null };
}

/** Hands job `job` to worker `w`; settles when the worker reports it done, or fails with the worker. */
function runOnWorker(w: Worker, job: number, input: WorkerInput, results: Results, healthy: Set<Worker>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    w.on('message', (m: WorkerMessage) => {
      if (m.job !== job) return;
      if (m.kind === 'done') resolve();
      else results.record(input, m);
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
  });
}

/** A promise that rejects with the signal's reason once it aborts (never, without a signal). */
function abortion(signal: AbortSignal | undefined): Promise<never> {
  const aborted = new Promise<never>((_, reject) => {
    signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => {});
  return aborted;
}

/**
 * Runs the units on `helpers` workers, with this thread taking units from the same counter meanwhile (unless
 * `callerWorks` is off): no thread waits for a worker to start, and the work is the same whoever does it.
 */
async function runOnPool(
  input: WorkerInput, helpers: number, callerWorks: boolean, results: Results, alpha: Float64Array, signal?: AbortSignal,
): Promise<void> {
  const count = workCount(input);
  const job = ++jobCounter;
  const pool = Array.from({ length: helpers }, takeWorker);
  const healthy = new Set(pool);
  const finished = pool.map((w) => runOnWorker(w, job, input, results, healthy));
  const aborted = abortion(signal);
  let completed = false;
  try {
    for (let i = callerWorks ? Atomics.add(input.next, 0, 1) : count; i < count; i = Atomics.add(input.next, 0, 1)) {
      results.record(input, runWork(input, i, alpha));
    }
    await Promise.race([Promise.all(finished), aborted]);
    completed = true;
  } finally {
    // Only workers that finished this job cleanly go back to the idle set; the others may still be running it.
    await Promise.all(pool.map((w) => (completed && healthy.has(w) ? returnWorker(w) : w.terminate())));
  }
}

/**
 * Runs one stage (restart units, or kick units) on this thread alone when the fit is too small to pay for a thread,
 * otherwise on the pool. The kicks use the pool whenever the restarts did: its workers are warm by then, and a
 * concept's 20 kicks cost about twice one of its restarts. An abort is noticed between stages, and within one on
 * the pool.
 */
async function runStage(run: StageRunner, units: readonly FitUnit[], kicks: readonly KickUnit[]): Promise<void> {
  run.signal?.throwIfAborted();
  const rows = [...units, ...kicks].reduce((sum, u) => sum + u.rows, run.restartRows);
  const helpers = helperCount(run.threads, units.length + kicks.length, rows, run.minRowsPerThread, run.callerWorks);
  if (helpers <= 0) {
    const input = workerInput(run.data, units, kicks, run);
    for (let i = 0; i < units.length + kicks.length; i++) run.results.record(input, runWork(input, i, run.alpha));
    return;
  }
  run.shared ??= sharedData(run.data);
  await runOnPool(workerInput(run.shared, units, kicks, run), helpers, run.callerWorks, run.results, run.alpha, run.signal);
}

export async function fitDatasetParallel(
  data: ResponseData,
  options: Partial<FitOptions> & ParallelOptions = {},
): Promise<DatasetFit> {
  const { threads = defaultThreads(), minRowsPerThread = 500_000, callerWorks = true, onProgress, onKicks, signal, niceness, ...fitOptions } = options;
  signal?.throwIfAborted();
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be an integer >= 1, got ${threads}`);
  const o = makeFitOptions(fitOptions);
  const units = planFit(data, o);
  const totalRows = units.reduce((sum, u) => sum + u.rows, 0);
  const results = new Results(units, totalRows, onProgress, onKicks);
  const alpha = new Float64Array(2 * maxSequenceLength(data));
  const run: StageRunner = { data, options: o, threads, minRowsPerThread, callerWorks, niceness, signal, results, alpha, restartRows: 0 };
  await runStage(run, units, []);
  run.restartRows = totalRows;
  if (results.list.length !== units.length) throw new Error(`fit workers finished ${results.list.length} of ${units.length} units`);
  const kicks = planKicks(data, o, results.list);
  await runStage(run, [], kicks);
  if (results.kicks.length !== kicks.length) throw new Error(`fit workers finished ${results.kicks.length} of ${kicks.length} kicks`);
  return assembleFit(data, o, results.list, results.kicks);
}
