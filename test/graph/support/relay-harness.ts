/** Test helpers for the relay: a settable clock, a logger that records, and timers that never really wait. */
import type { RelayLogger, RelayTimers } from '../../../src/graph/relay.js';
import type { MasteryProjection } from '../../../src/service/graph-port.js';

export class FakeClock {
  constructor(public t = Date.UTC(2026, 0, 1)) {}
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface LogLine {
  level: 'info' | 'warn';
  fields: Record<string, unknown>;
  message: string;
}

export class RecordingLogger implements RelayLogger {
  readonly lines: LogLine[] = [];
  info(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'info', fields, message });
  }
  warn(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'warn', fields, message });
  }
  get warnings(): LogLine[] {
    return this.lines.filter((l) => l.level === 'warn');
  }
  matching(pattern: RegExp): LogLine[] {
    return this.lines.filter((l) => pattern.test(l.message));
  }
}

/**
 * Timers for a relay loop under test. A wait of exactly `pollIntervalMs` (idle or standby) lasts until the relay is
 * notified or stopped, so the test decides when it runs again; any other wait is a backoff: recorded, the clock moved
 * on by it, and over at once.
 */
export function steppingTimers(clock: FakeClock, pollIntervalMs: number): RelayTimers & { backoffs: number[] } {
  const backoffs: number[] = [];
  return {
    backoffs,
    now: clock.now,
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        if (ms !== pollIntervalMs) {
          backoffs.push(ms);
          clock.advance(ms);
          setImmediate(resolve);
          return;
        }
        if (signal.aborted) return resolve();
        signal.addEventListener('abort', () => resolve(), { once: true });
      }),
  };
}

/** A mastery update for pair (student, concept) at `version`, level derived from the version so it is checkable. */
export function update(student: string, concept: string, version: number): MasteryProjection {
  const level = (version % 97) / 97;
  return {
    student_id: student,
    concept_id: concept,
    level,
    mastered: level >= 0.95,
    version,
    updated_at: new Date(Date.UTC(2026, 0, 1) + version * 1000).toISOString(),
  };
}

/** Polls `condition` on the event loop until true; fails after `limit` turns (no wall-clock assertion). */
export async function eventually(condition: () => boolean, limit = 100_000): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('condition not reached');
}
