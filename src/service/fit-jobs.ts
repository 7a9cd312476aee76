/**
 * Fit jobs: EM over the stored history, run in the background of the service, one at a time.
 *
 * A job snapshots each concept's parameter version, reads history in keyset pages ordered by (concept, student,
 * seq) with no transaction held across pages, fits on worker threads (the event loop stays free for updates), and
 * writes the new parameters in one transaction: a concept flagged degenerate or few_data is not applied unless
 * asked, and a concept whose version moved meanwhile (an admin changed it) is skipped. With `replay`, each pair of
 * an applied concept is then recomputed from its history under the new parameters, in batches of locked pairs.
 * By item (`multigs`, `multilearn`), the history's item_id is the value column of the variants fitted, and the fit's
 * per-item values become the concept's items at its new version, written in the same transaction.
 */
import {
  DEFAULT_FIT_OPTIONS, makeFitOptions, type ConceptFit, type FitOptions, type ResponseData, type VariantKind,
} from '../bkt/index.js';
import { ServiceError } from './errors.js';
import type {
  AppliedParameters, FitJobOptions, FitJobProgress, FitJobRecord, FitJobResults, FitJobStore, FittedParameters, Fitter,
} from './fit-ports.js';
import { conceptResults, replayStates, unfittedResult } from './fit-results.js';
import { HistoryDataBuilder } from './history-data.js';
import { itemsOfFit } from './item-params.js';
import { resolveConcept } from './parameters-cache.js';

/** A fit request as the API receives it (all optional). */
export interface FitRequest {
  readonly conceptIds?: readonly string[];
  readonly restarts?: number;
  readonly seed?: number;
  readonly maxIterations?: number;
  readonly tol?: number;
  readonly bounds?: { readonly guess?: number | null; readonly slip?: number | null } | null;
  readonly fix?: Partial<Record<'prior' | 'learn' | 'guess' | 'slip' | 'forget', number>>;
  readonly forget?: boolean;
  /** The CLI's name of `forget`; both may be given only alike. */
  readonly fitForget?: boolean;
  readonly multigs?: boolean;
  /** Learn and forget per item (`bkt fit --multilearn item_id`); forget per item too with `forget`. */
  readonly multilearn?: boolean;
  readonly minResponses?: number;
  readonly applyDegenerate?: boolean;
  readonly replay?: boolean;
}

export interface FitJobServiceOptions {
  readonly store: FitJobStore;
  readonly fitter: Fitter;
  /** Who runs jobs here (host, pid, instance), stored with each job. */
  readonly owner: string;
  /** How often a running job writes its heartbeat and progress. */
  readonly heartbeatMs: number;
  /** A queued or running job whose heartbeat is older than this is taken as dead and marked interrupted. */
  readonly staleMs: number;
  /** Mastery threshold: the fit's degenerate check uses it, as `bkt fit --threshold` does. */
  readonly threshold: number;
  /** Called once new parameters are committed (to refresh this instance's cache before replaying). */
  readonly onParametersApplied?: () => Promise<void>;
  /** Where a failed job's details go (they are not shown to API callers). */
  readonly onJobError?: (jobId: string, err: unknown) => void;
  /** Jobs the periodic sweep (`startSweep`) marked interrupted. */
  readonly onStaleJobs?: (jobIds: string[]) => void;
  /** A sweep that failed (the database away, say); the next one tries again. */
  readonly onSweepError?: (err: unknown) => void;
  /** History rows per page (default 5,000) and pairs per replay transaction (default 500). */
  readonly pageSize?: number;
  readonly replayBatch?: number;
  /**
   * Share of the time spent reading history pages (default 0.5): after a page that took t ms the job rests
   * t * (1 / share - 1) ms, so that the reads leave the database and the event loop to updates half the time.
   */
  readonly readShare?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The core's RangeError names the option in its own terms; the API's field names differ a little. */
function apiField(message: string): string {
  const name = /^([a-zA-Z.]+)/.exec(message)?.[1] ?? 'body';
  return name.replace(/^maxIterations/, 'max_iterations').replace(/^fixed/, 'fix');
}

/** Validates a request into stored options (defaults filled), throwing invalid_input naming the field. */
export function fitJobOptions(r: FitRequest, threshold: number): FitJobOptions {
  let conceptIds: string[] | null = null;
  if (r.conceptIds !== undefined) {
    if (r.conceptIds.length === 0) throw new ServiceError('invalid_input', 'concept_ids must not be empty (omit it to fit every concept)', 'concept_ids');
    conceptIds = r.conceptIds.map((c, i) => {
      const v = c.toLowerCase();
      if (!UUID.test(v)) throw new ServiceError('invalid_input', `concept_ids[${i}] must be a UUID`, `concept_ids[${i}]`);
      return v;
    });
    conceptIds = [...new Set(conceptIds)].sort();
  }
  const minResponses = r.minResponses ?? 1;
  if (!(Number.isInteger(minResponses) && minResponses >= 1)) {
    throw new ServiceError('invalid_input', 'min_responses must be an integer >= 1', 'min_responses');
  }
  if (r.forget !== undefined && r.fitForget !== undefined && r.forget !== r.fitForget) {
    throw new ServiceError('invalid_input', 'forget and fit_forget name the same option: give one, or both alike', 'fit_forget');
  }
  const d = DEFAULT_FIT_OPTIONS;
  const options: FitJobOptions = {
    conceptIds,
    restarts: r.restarts ?? d.restarts,
    seed: r.seed ?? d.seed,
    maxIterations: r.maxIterations ?? d.maxIterations,
    tol: r.tol ?? d.tol,
    bounds: r.bounds === null ? { guess: null, slip: null } : { ...d.bounds, ...r.bounds },
    fix: { ...r.fix },
    forget: r.forget ?? r.fitForget ?? d.fitForget,
    multigs: r.multigs ?? false,
    multilearn: r.multilearn ?? false,
    minResponses,
    applyDegenerate: r.applyDegenerate ?? false,
    replay: r.replay ?? false,
  };
  try {
    makeFitOptions(coreOptions(options, threshold));
  } catch (e) {
    if (e instanceof RangeError) throw new ServiceError('invalid_input', e.message.replace(/^fixed/, 'fix'), apiField(e.message));
    throw e;
  }
  return options;
}

/**
 * The core's options for a job. The fallback is 'defaults' only so that each concept's best restart is chosen among
 * non-degenerate ones exactly as `bkt fit` chooses it; the fallback itself is never applied (a flagged concept keeps
 * its current parameters), so the pooled fit `bkt fit` also makes would be wasted work here.
 */
export function coreOptions(o: FitJobOptions, threshold: number): Partial<FitOptions> {
  return {
    restarts: o.restarts,
    seed: o.seed,
    maxIterations: o.maxIterations,
    tol: o.tol,
    bounds: o.bounds,
    fixed: o.fix,
    fitForget: o.forget,
    fallback: 'defaults',
    threshold,
  };
}

/** The variants a job fits by item (the history's item_id): guess and slip (multigs), learn and forget (multilearn). */
export function itemVariants(o: Pick<FitJobOptions, 'multigs' | 'multilearn'>): VariantKind[] {
  return [...(o.multigs === true ? (['guessSlip'] as const) : []), ...(o.multilearn === true ? (['learn'] as const) : [])];
}

const QUEUED: FitJobProgress = { phase: 'queued', rowsRead: 0, unitsDone: 0, unitsTotal: 0, pairsReplayed: 0, pairsTotal: 0 };

class Interrupted extends Error {}

export class FitJobService {
  private readonly o: FitJobServiceOptions;
  private current:
    | { id: string; progress: FitJobProgress; done: Promise<void>; stopped: boolean; abort: AbortController }
    | undefined;
  private closed = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;

  constructor(options: FitJobServiceOptions) {
    this.o = options;
  }

  /**
   * Sweeps every staleMs / 2: a job whose process died is marked interrupted within about 1.5 x staleMs of its last
   * heartbeat, even if nobody reads it or starts another job. The timer does not keep the process alive, a sweep
   * never overlaps the previous one, and close() stops it.
   */
  startSweep(): void {
    if (this.sweepTimer !== undefined || this.closed) return;
    this.sweepTimer = setInterval(() => {
      if (this.sweeping !== undefined) return;
      this.sweeping = this.sweep().finally(() => {
        this.sweeping = undefined;
      });
    }, Math.max(1, Math.floor(this.o.staleMs / 2)));
    this.sweepTimer.unref();
  }

  /** One sweep: marks interrupted the queued or running jobs whose heartbeat is older than staleMs. Never throws. */
  async sweep(): Promise<string[]> {
    try {
      const ids = await this.o.store.interruptStaleJobs(this.o.staleMs);
      if (ids.length > 0) this.o.onStaleJobs?.(ids);
      return ids;
    } catch (err) {
      this.o.onSweepError?.(err);
      return [];
    }
  }

  /**
   * Marks jobs left queued or running by a dead process as interrupted. `all` when no other process can be running
   * one (embedded PGlite: the data directory's lock file guarantees a single process).
   */
  recover(scope: 'all' | 'stale'): Promise<string[]> {
    return this.o.store.interruptStaleJobs(scope === 'all' ? 'all' : this.o.staleMs);
  }

  /** Validates, records a queued job (409 fit_in_progress if one is queued or running) and starts it. */
  async start(request: FitRequest): Promise<string> {
    if (this.closed) throw new ServiceError('unavailable', 'the service is stopping', undefined);
    const options = fitJobOptions(request, this.o.threshold);
    await this.o.store.interruptStaleJobs(this.o.staleMs);
    const id = await this.o.store.createJob(options, this.o.owner);
    if (id === undefined) throw new ServiceError('fit_in_progress', 'a fit job is already queued or running; wait for it to finish');
    const current = { id, progress: QUEUED, stopped: false, done: Promise.resolve(), abort: new AbortController() };
    this.current = current;
    current.done = this.run(id, options).finally(() => {
      if (this.current === current) this.current = undefined;
    });
    return id;
  }

  /** A job as stored; a running job whose heartbeat stopped is marked interrupted first. */
  async get(jobId: string): Promise<FitJobRecord> {
    const id = jobId.toLowerCase();
    if (!UUID.test(id)) throw new ServiceError('invalid_input', 'job_id must be a UUID', 'job_id');
    let job = await this.o.store.readJob(id);
    if (job === undefined) throw new ServiceError('not_found', `no fit job ${id}`);
    if ((job.status === 'running' || job.status === 'queued') && Date.parse(job.heartbeatAt) < Date.now() - this.o.staleMs) {
      await this.o.store.interruptStaleJobs(this.o.staleMs);
      job = (await this.o.store.readJob(id)) ?? job;
    }
    // This instance's own running job: its progress as of now rather than as of the last heartbeat.
    const c = this.current;
    if (c && c.id === id && job.status === 'running') return { ...job, progress: c.progress };
    return job;
  }

  /**
   * Stops taking jobs and marks a running one interrupted. A job in EM is marked at once and its worker threads are
   * stopped; one reading, applying or replaying stops at its next page or batch.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    await this.sweeping;
    const c = this.current;
    if (!c) return;
    c.stopped = true;
    c.abort.abort(new Interrupted());
    if (c.progress.phase === 'fitting') {
      await this.o.store
        .finishJob(c.id, this.o.owner, 'interrupted', c.progress, null, 'the service stopped before the job finished')
        .catch(() => {});
      return;
    }
    await c.done;
  }

  private async run(id: string, options: FitJobOptions): Promise<void> {
    const { store, owner } = this.o;
    const job = this.current!;
    let heartbeat: NodeJS.Timeout | undefined;
    let lost = false;
    const setProgress = (p: Partial<FitJobProgress>) => {
      job.progress = { ...job.progress, ...p };
    };
    const check = () => {
      if (job.stopped || lost) throw new Interrupted();
    };
    try {
      if (!(await store.startJob(id, owner))) return;
      heartbeat = setInterval(() => {
        store.heartbeat(id, owner, job.progress).then(
          (mine) => {
            if (!mine) lost = true;
          },
          () => {}, // a missed beat is harmless; staleMs allows several
        );
      }, this.o.heartbeatMs);
      heartbeat.unref();
      const results = await this.execute(options, setProgress, check, job.abort.signal);
      check();
      clearInterval(heartbeat);
      await store.finishJob(id, owner, 'done', job.progress, results, null);
    } catch (e) {
      clearInterval(heartbeat);
      if (e instanceof Interrupted) {
        if (!lost) await store.finishJob(id, owner, 'interrupted', job.progress, null, 'the service stopped before the job finished').catch(() => {});
        return;
      }
      this.o.onJobError?.(id, e);
      const message = e instanceof ServiceError ? e.message : 'the fit failed; the service log has the details';
      await store.finishJob(id, owner, 'failed', job.progress, null, message).catch(() => {});
    }
  }

  /** The job's steps in turn: read history, fit, apply, replay; each returns what the next needs. */
  private async execute(
    options: FitJobOptions,
    setProgress: (p: Partial<FitJobProgress>) => void,
    check: () => void,
    signal: AbortSignal,
  ): Promise<FitJobResults> {
    const t0 = performance.now();
    // Versions first: a change made after this point, even during the read, is detected when applying.
    const versions = await this.o.store.parameterVersions(options.conceptIds);
    const { builder, data } = await this.readHistory(options, setProgress, check);
    const t1 = performance.now();
    const fit = await this.fitHistory(data, options, setProgress, signal);
    check();
    const t2 = performance.now();
    setProgress({ phase: 'applying' });
    const applied = await this.applyFits(fit.concepts, options, versions);
    const t3 = performance.now();
    const replayed = options.replay && applied.written.size > 0 ? await this.replayApplied(fit.concepts, applied, setProgress, check) : new Map<string, number>();
    const t4 = performance.now();
    setProgress({ phase: 'finished' });

    const concepts = conceptResults(fit.concepts, { versions, written: applied.written, skipped: new Set(applied.skipped), replayed });
    for (const [conceptId, dropped] of builder.dropped) {
      concepts.push(unfittedResult(conceptId, dropped, options.minResponses, versions.get(conceptId) ?? 0));
    }
    concepts.sort((a, b) => (a.conceptId < b.conceptId ? -1 : a.conceptId > b.conceptId ? 1 : 0));
    const s = (a: number, b: number) => Math.round(b - a) / 1000;
    return {
      concepts,
      responses: data.responses.length,
      logLik: fit.concepts.reduce((sum, c) => sum + c.logLik, 0),
      seconds: { read: s(t0, t1), fit: s(t1, t2), apply: s(t2, t3), replay: s(t3, t4) },
    };
  }

  /** Reads the history in keyset pages (with item ids for a fit by item), resting between pages (readShare). */
  private async readHistory(options: FitJobOptions, setProgress: (p: Partial<FitJobProgress>) => void, check: () => void) {
    const { store } = this.o;
    setProgress({ phase: 'reading' });
    const kinds = itemVariants(options);
    const builder = new HistoryDataBuilder(options.minResponses, kinds);
    const pageSize = this.o.pageSize ?? 5_000;
    const rest = 1 / (this.o.readShare ?? 0.5) - 1;
    for (let after = null as Parameters<FitJobStore['readHistoryPage']>[1]; ; ) {
      check();
      const pageStart = performance.now();
      const page = await store.readHistoryPage(options.conceptIds, after, pageSize, kinds.length > 0);
      builder.add(page);
      if (rest > 0) await new Promise((r) => setTimeout(r, (performance.now() - pageStart) * rest));
      setProgress({ rowsRead: builder.rows });
      const n = page.seqs.length;
      if (n < pageSize) break;
      after = { conceptId: page.conceptIds[n - 1], studentId: page.studentIds[n - 1], seq: page.seqs[n - 1] };
    }
    return { builder, data: builder.build() };
  }

  /** EM on the worker threads, as `bkt fit` runs it with the job's options. */
  private async fitHistory(
    data: ResponseData,
    options: FitJobOptions,
    setProgress: (p: Partial<FitJobProgress>) => void,
    signal: AbortSignal,
  ): Promise<{ concepts: readonly ConceptFit[] }> {
    setProgress({ phase: 'fitting' });
    if (data.conceptIds.length === 0) return { concepts: [] };
    const core = coreOptions(options, this.o.threshold);
    return this.o.fitter(data, core, (p) => setProgress({ unitsDone: p.units, unitsTotal: p.totalUnits }), signal);
  }

  /**
   * Writes the fits that may be applied (not flagged, unless apply_degenerate) in one transaction, each concept with
   * its items: a fit by item brings its own, any other fit carries the concept's on. Refreshes this instance's cache.
   */
  private async applyFits(fits: readonly ConceptFit[], options: FitJobOptions, versions: ReadonlyMap<string, number>): Promise<AppliedParameters> {
    const byItem = itemVariants(options).length > 0;
    const toApply: FittedParameters[] = fits
      .filter((c) => options.applyDegenerate || !(c.flags.degenerate || c.flags.few_data))
      .map((c) => ({
        conceptId: c.conceptId,
        params: c.params,
        sampleSize: c.responses,
        expectedVersion: versions.get(c.conceptId) ?? 0,
        ...(byItem && { items: itemsOfFit(c.perValue) }),
      }));
    if (toApply.length === 0) return { written: new Map(), skipped: [], items: new Map() };
    const applied = await this.o.store.applyParameters(toApply);
    if (applied.written.size > 0) await this.o.onParametersApplied?.();
    return applied;
  }

  /** Recomputes every pair of each applied concept from its history under the new parameters, in locked batches. */
  private async replayApplied(
    fits: readonly ConceptFit[],
    applied: AppliedParameters,
    setProgress: (p: Partial<FitJobProgress>) => void,
    check: () => void,
  ): Promise<Map<string, number>> {
    const { store } = this.o;
    setProgress({ phase: 'replaying' });
    let total = 0;
    for (const conceptId of applied.written.keys()) total += await store.countPairs(conceptId);
    setProgress({ pairsTotal: total });
    const replayed = new Map<string, number>();
    let done = 0;
    for (const [conceptId, version] of applied.written) {
      const params = fits.find((c) => c.conceptId === conceptId)!.params;
      const resolved = resolveConcept({ conceptId, params, version, items: applied.items.get(conceptId) ?? [] });
      let pairs = 0;
      for (let after: string | null = null; ; ) {
        check();
        const r = await store.replayPairs(conceptId, after, this.o.replayBatch ?? 500, (locked) =>
          replayStates(locked, resolved, this.o.threshold),
        );
        pairs += r.pairs;
        done += r.pairs;
        setProgress({ pairsReplayed: done });
        if (r.lastStudentId === undefined) break;
        after = r.lastStudentId;
      }
      replayed.set(conceptId, pairs);
    }
    return replayed;
  }
}
