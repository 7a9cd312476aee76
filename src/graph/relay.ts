/**
 * The outbox relay: moves pending outbox rows to the graph in batches, woken after each commit and by a periodic
 * poll, only while it holds the lease. It never throws into callers: failures are counted, logged once per outage,
 * and retried with backoff. See docs/graph.md for the design and what the tests prove.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type {
  GraphBatch,
  GraphProjection,
  GraphRelayMetrics,
  GraphWriter,
  MasteryProjection,
  OutboxPort,
  OutboxRow,
  OutboxSent,
  StudentRemoval,
} from '../service/graph-port.js';
import { backoffDelay, checkBackoffPolicy, type BackoffPolicy } from './backoff.js';

/** Pino-compatible logger subset (Fastify's logger fits). */
export interface RelayLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Time as the relay sees it; tests replace it to run the loop without real waiting. */
export interface RelayTimers {
  now(): number;
  /** Resolves after `ms`, or early (without error) when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export interface RelayOptions {
  readonly outbox: OutboxPort;
  readonly writer: GraphWriter;
  readonly logger: RelayLogger;
  /** This instance's name in the lease row; unique per process by default. */
  readonly holder?: string;
  /** Rows per Neo4j transaction. */
  readonly batchSize?: number;
  /** How often to look for rows without being woken, and to try for the lease while another instance holds it. */
  readonly pollIntervalMs?: number;
  /** Lease length; the holder renews it after a third of that. Must exceed twice backoff.maxMs. */
  readonly leaseTtlMs?: number;
  readonly backoff?: BackoffPolicy;
  readonly random?: () => number;
  readonly timers?: RelayTimers;
}

/** What one cycle did. */
export type CycleOutcome =
  | 'standby' // another instance holds the lease
  | 'idle' // nothing pending
  | 'drained' // sent a partial batch: nothing more was pending when it was read
  | 'more' // sent a full batch: more may be pending
  | 'failed'; // the outbox or the graph failed; retry after a backoff

export const realTimers: RelayTimers = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    }),
};

const DEFAULTS = {
  batchSize: 500,
  pollIntervalMs: 1_000,
  leaseTtlMs: 30_000,
  backoff: { initialMs: 250, maxMs: 10_000 },
} as const;

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be an integer >= 1, got ${value}`);
  return value;
}

/** One line, bounded, no stack: what went wrong, for the log and `bkt graph status`. */
export function describeError(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : '';
  const message = error instanceof Error ? error.message : String(error);
  const line = `${code !== '' ? `${code}: ` : ''}${message}`.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

function toBatch(rows: readonly OutboxRow[]): GraphBatch {
  const upserts: MasteryProjection[] = [];
  const removals: StudentRemoval[] = [];
  for (const row of rows) {
    if (row.kind === 'mastery') {
      const { student_id, concept_id, level, mastered, version, updated_at } = row;
      upserts.push({ student_id, concept_id, level, mastered, version, updated_at });
    } else {
      removals.push({ student_id: row.student_id, version: row.version });
    }
  }
  return { upserts, removals };
}

function sentKeys(rows: readonly OutboxRow[]): OutboxSent[] {
  return rows.map((row) =>
    row.kind === 'mastery'
      ? { kind: 'mastery', student_id: row.student_id, concept_id: row.concept_id, version: row.version }
      : { kind: 'removal', student_id: row.student_id, version: row.version },
  );
}

export class OutboxRelay implements GraphProjection {
  readonly holder: string;
  readonly #outbox: OutboxPort;
  readonly #writer: GraphWriter;
  readonly #logger: RelayLogger;
  readonly #batchSize: number;
  readonly #pollIntervalMs: number;
  readonly #leaseTtlMs: number;
  readonly #backoff: BackoffPolicy;
  readonly #random: () => number;
  readonly #timers: RelayTimers;

  #loop: Promise<void> | null = null;
  #stopping = false;
  #notified = false;
  /** The wait in progress: stop() always ends it, notify() only when it is a poll wait, not a backoff. */
  #sleep: { controller: AbortController; wakeable: boolean } | null = null;

  #holdsLease = false;
  #leaseRenewedAt = 0;
  #constraintsEnsured = false;

  #failures = 0;
  #consecutiveFailures = 0;
  #failingSince: number | null = null;

  #pending = 0;
  #oldestAgeSeconds = 0;
  #statsAt = Number.NEGATIVE_INFINITY;

  constructor(options: RelayOptions) {
    this.#outbox = options.outbox;
    this.#writer = options.writer;
    this.#logger = options.logger;
    this.holder = options.holder ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.#batchSize = positiveInteger('batchSize', options.batchSize ?? DEFAULTS.batchSize);
    this.#pollIntervalMs = positiveInteger('pollIntervalMs', options.pollIntervalMs ?? DEFAULTS.pollIntervalMs);
    this.#leaseTtlMs = positiveInteger('leaseTtlMs', options.leaseTtlMs ?? DEFAULTS.leaseTtlMs);
    this.#backoff = checkBackoffPolicy(options.backoff ?? DEFAULTS.backoff);
    if (this.#backoff.maxMs * 2 >= this.#leaseTtlMs) {
      // Otherwise a holder waiting out a backoff loses its lease and instances take turns failing.
      throw new RangeError(`leaseTtlMs (${this.#leaseTtlMs}) must exceed twice backoff.maxMs (${this.#backoff.maxMs})`);
    }
    this.#random = options.random ?? Math.random;
    this.#timers = options.timers ?? realTimers;
  }

  /** Starts the loop (idempotent). */
  start(): void {
    if (this.#loop !== null) return;
    this.#stopping = false;
    this.#loop = this.#run();
  }

  /** Wakes the relay after a commit; a no-op while it waits out a backoff (the outage must not be hammered). */
  notify(): void {
    this.#notified = true;
    if (this.#sleep?.wakeable === true) this.#sleep.controller.abort();
  }

  /** Stops after the batch in flight (if any) and frees the lease so another instance takes over at once. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#sleep?.controller.abort();
    const loop = this.#loop;
    this.#loop = null;
    if (loop !== null) await loop;
    if (this.#holdsLease) {
      this.#holdsLease = false;
      try {
        await this.#outbox.releaseLease(this.holder);
      } catch (error) {
        this.#logger.warn({ error: describeError(error) }, 'graph relay: could not release its lease; it expires by itself');
      }
    }
  }

  metrics(): GraphRelayMetrics {
    // The age read from the store, plus the time since it was read: it keeps growing between reads during an outage.
    const sinceRead = Math.max(0, this.#timers.now() - this.#statsAt) / 1000;
    const oldestPendingSeconds = this.#pending === 0 ? 0 : this.#oldestAgeSeconds + sinceRead;
    return {
      pending: this.#pending,
      oldestPendingSeconds,
      failures: this.#failures,
      failing: this.#failingSince !== null,
      holdsLease: this.#holdsLease,
    };
  }

  /** One cycle: lease, then at most one batch. Never throws. Exposed for tests; `start()` runs it in a loop. */
  async runOnce(): Promise<CycleOutcome> {
    let stage: 'outbox' | 'graph' = 'outbox';
    try {
      if (!(await this.#ensureLease())) {
        await this.#refreshStats(false);
        return 'standby';
      }
      if (!this.#constraintsEnsured) {
        stage = 'graph';
        await this.#writer.ensureConstraints();
        this.#constraintsEnsured = true;
        stage = 'outbox';
      }
      const rows = await this.#outbox.readPending(this.#batchSize);
      if (rows.length === 0) {
        this.#recovered();
        await this.#refreshStats(true);
        return 'idle';
      }
      stage = 'graph';
      await this.#writer.write(toBatch(rows));
      stage = 'outbox';
      const deleted = await this.#outbox.deleteIfUnchanged(sentKeys(rows));
      this.#recovered();
      const more = rows.length === this.#batchSize;
      if (!more) {
        // Drained: what is pending now is what changed while the batch was in flight, moments old. Counted here
        // rather than read, since under load this runs many times a second; the store's figures follow within a
        // poll interval.
        this.#pending = rows.length - deleted;
        if (this.#pending === 0) this.#oldestAgeSeconds = 0;
      }
      await this.#refreshStats(false);
      return more ? 'more' : 'drained';
    } catch (error) {
      await this.#failed(stage, error);
      return 'failed';
    }
  }

  async #run(): Promise<void> {
    try {
      await this.#cycleUntilStopped();
    } catch (error) {
      // runOnce() never throws; this guards against a broken timer so the loop cannot reject unobserved.
      this.#logger.warn({ error: describeError(error) }, 'graph relay: loop stopped by an unexpected error');
    }
  }

  async #cycleUntilStopped(): Promise<void> {
    while (!this.#stopping) {
      // Cleared before the cycle reads, so a commit notified during the cycle gets another cycle straight away.
      this.#notified = false;
      const outcome = await this.runOnce();
      if (this.#stopping) break;
      if (outcome === 'more') continue;
      if (outcome === 'failed') await this.#wait(backoffDelay(this.#consecutiveFailures, this.#backoff, this.#random), false);
      else if (outcome === 'standby') await this.#wait(this.#pollIntervalMs, false);
      else if (!this.#notified) await this.#wait(this.#pollIntervalMs, true);
    }
  }

  async #wait(ms: number, wakeable: boolean): Promise<void> {
    const controller = new AbortController();
    this.#sleep = { controller, wakeable };
    try {
      await this.#timers.sleep(ms, controller.signal);
    } finally {
      this.#sleep = null;
    }
  }

  async #ensureLease(): Promise<boolean> {
    const now = this.#timers.now();
    if (this.#holdsLease) {
      if (now - this.#leaseRenewedAt < this.#leaseTtlMs / 3) return true;
      if (await this.#outbox.renewLease(this.holder, this.#leaseTtlMs)) {
        this.#leaseRenewedAt = now;
        return true;
      }
      this.#holdsLease = false;
      this.#logger.info({ holder: this.holder }, 'graph relay: lease taken by another instance; standing by');
      return false;
    }
    if (!(await this.#outbox.acquireLease(this.holder, this.#leaseTtlMs))) return false;
    this.#holdsLease = true;
    this.#leaseRenewedAt = now;
    this.#logger.info({ holder: this.holder }, 'graph relay: holds the lease; relaying outbox rows');
    return true;
  }

  async #refreshStats(force: boolean): Promise<void> {
    const now = this.#timers.now();
    if (!force && now - this.#statsAt < this.#pollIntervalMs) return;
    const stats = await this.#outbox.stats();
    this.#pending = stats.pending;
    this.#oldestAgeSeconds = stats.oldestAgeSeconds;
    this.#statsAt = now;
  }

  #recovered(): void {
    if (this.#failingSince === null) return;
    const seconds = (this.#timers.now() - this.#failingSince) / 1000;
    this.#logger.info(
      { failedAttempts: this.#consecutiveFailures, outageSeconds: seconds, pending: this.#pending },
      `graph relay: recovered after ${this.#consecutiveFailures} failed attempts over ${seconds.toFixed(1)} s`,
    );
    this.#failingSince = null;
    this.#consecutiveFailures = 0;
  }

  async #failed(stage: 'outbox' | 'graph', error: unknown): Promise<void> {
    this.#failures += 1;
    this.#consecutiveFailures += 1;
    const message = describeError(error);
    const first = this.#failingSince === null;
    try {
      // The backlog keeps growing during an outage: /metrics must show it, not the figure from before.
      await this.#refreshStats(first);
    } catch {
      // The outbox may be what failed; keep the last known figures.
    }
    if (first) {
      this.#failingSince = this.#timers.now();
      this.#logger.warn(
        { stage, error: message, pending: this.#pending },
        `graph relay: ${stage === 'graph' ? 'Neo4j' : 'the outbox'} is failing (${message}); ${this.#pending} rows pending; ` +
          'retrying with backoff, and further failures are counted, not logged, until it recovers',
      );
    }
    if (stage === 'graph') {
      try {
        await this.#outbox.recordError(message);
      } catch {
        // Best effort: the figure in /metrics still counts the failure.
      }
    }
  }
}
