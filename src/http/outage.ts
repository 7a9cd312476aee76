/**
 * Database outages in the log and in /metrics: the first 503 of an outage is logged at warn with its cause, later
 * ones only as a count (at most one line per interval), and the first success after it logs the outage's total.
 * A stack per request would bury the log (and the disk) exactly when an operator reads it.
 */
import type { FastifyBaseLogger } from 'fastify';
import { Counter, type Registry } from 'prom-client';

export const OUTAGE_SUMMARY_MS = 10_000;

export class OutageLog {
  private readonly counter: Counter;
  private active = false;
  private total = 0;
  private sinceSummary = 0;
  private startedAt = 0;
  private summaryAt = 0;

  constructor(
    registry: Registry,
    private readonly log: () => FastifyBaseLogger,
    private readonly summaryMs = OUTAGE_SUMMARY_MS,
  ) {
    this.counter = new Counter({
      name: 'bkt_db_unavailable_total',
      help: 'Requests answered 503 because the database was unreachable or too slow',
      registers: [registry],
    });
  }

  /** A request got a 503 because of the database. */
  record(cause: Error): void {
    this.counter.inc();
    const now = performance.now();
    this.total++;
    this.sinceSummary++;
    if (!this.active) {
      this.active = true;
      this.startedAt = now;
      this.summaryAt = now;
      this.sinceSummary = 0;
      this.log().warn({ cause: cause.message }, 'database unavailable: answering 503 until it is back');
    } else if (now - this.summaryAt >= this.summaryMs) {
      this.log().warn({ count: this.sinceSummary, total: this.total }, 'database still unavailable');
      this.summaryAt = now;
      this.sinceSummary = 0;
    }
  }

  /** A request that reached the database succeeded: ends an outage in progress. */
  recovered(): void {
    if (!this.active) return;
    const seconds = Math.round(performance.now() - this.startedAt) / 1000;
    this.log().warn({ count: this.total, seconds }, 'database available again');
    this.active = false;
    this.total = 0;
  }
}
