/**
 * MemoryOutbox: an in-memory OutboxPort FOR TESTS ONLY. It mimics the SQL outbox the store will keep:
 *   - one row per (student, concept), upserted with `ON CONFLICT ... DO UPDATE ... WHERE outbox.version < excluded.version`
 *     (an older version never replaces a newer pending one; enqueued_at keeps the first queueing time);
 *   - erasing a student deletes its pending mastery rows and upserts one removal row, in the same "transaction";
 *   - a lease row (holder, expires_at) judged by the outbox's own clock, like the database's now().
 * It also keeps the latest mastery per pair (`truth`), standing in for the student_mastery table.
 */
import type { MasteryProjection, OutboxPort, OutboxRow, OutboxSent, OutboxStats } from '../../../src/service/graph-port.js';

type Key = string;

function keyOf(row: { kind: 'mastery' | 'removal'; student_id: string; concept_id?: string }): Key {
  return row.kind === 'mastery' ? `m|${row.student_id}|${row.concept_id}` : `r|${row.student_id}`;
}

export class MemoryOutbox implements OutboxPort {
  readonly #rows = new Map<Key, OutboxRow & { seq: number }>();
  #seq = 0;
  #lease: { holder: string; expiresAt: number } | null = null;
  #lastError: { message: string; at: Date } | null = null;
  /** Latest version per pair, as the student_mastery table would hold it. */
  readonly truth = new Map<string, MasteryProjection>();
  /** When set, every port call fails with it (the database is down). */
  down: Error | null = null;
  /** Called inside readPending after the rows are copied: lets a test commit an update "while the batch is in flight". */
  afterRead: (() => void) | null = null;
  calls = { readPending: 0, deleteIfUnchanged: 0, acquireLease: 0, renewLease: 0 };

  constructor(readonly now: () => number = () => Date.now()) {}

  /** The outbox part of an update's transaction. Returns whether the row changed. */
  enqueueMastery(p: MasteryProjection): boolean {
    const known = this.truth.get(`${p.student_id}|${p.concept_id}`);
    if (known === undefined || known.version < p.version) this.truth.set(`${p.student_id}|${p.concept_id}`, p);
    const key = keyOf({ kind: 'mastery', ...p });
    const existing = this.#rows.get(key);
    if (existing === undefined) {
      this.#rows.set(key, { kind: 'mastery', ...p, enqueued_at: new Date(this.now()), seq: this.#seq++ });
      return true;
    }
    if (!(existing.version < p.version)) return false; // WHERE outbox.version < excluded.version
    this.#rows.set(key, { kind: 'mastery', ...p, enqueued_at: existing.enqueued_at, seq: existing.seq });
    return true;
  }

  /** The outbox part of erasing a student: its pending updates are dropped and one removal is queued. */
  enqueueRemoval(studentId: string, version: number): void {
    for (const [key, row] of this.#rows) if (row.kind === 'mastery' && row.student_id === studentId) this.#rows.delete(key);
    for (const key of [...this.truth.keys()]) if (key.startsWith(`${studentId}|`)) this.truth.delete(key);
    const key = keyOf({ kind: 'removal', student_id: studentId });
    const existing = this.#rows.get(key);
    if (existing !== undefined && !(existing.version < version)) return;
    this.#rows.set(key, {
      kind: 'removal',
      student_id: studentId,
      version,
      enqueued_at: existing?.enqueued_at ?? new Date(this.now()),
      seq: existing?.seq ?? this.#seq++,
    });
  }

  get size(): number {
    return this.#rows.size;
  }

  pendingVersion(studentId: string, conceptId: string): number | undefined {
    return this.#rows.get(keyOf({ kind: 'mastery', student_id: studentId, concept_id: conceptId }))?.version;
  }

  async readPending(limit: number): Promise<OutboxRow[]> {
    this.#check();
    this.calls.readPending += 1;
    const rows = [...this.#rows.values()]
      .sort((a, b) => a.seq - b.seq)
      .slice(0, limit)
      .map(({ seq: _seq, ...row }) => ({ ...row }) as OutboxRow);
    this.afterRead?.();
    return rows;
  }

  async deleteIfUnchanged(sent: readonly OutboxSent[]): Promise<number> {
    this.#check();
    this.calls.deleteIfUnchanged += 1;
    let deleted = 0;
    for (const s of sent) {
      const key = keyOf(s.kind === 'mastery' ? s : { kind: 'removal', student_id: s.student_id });
      const row = this.#rows.get(key);
      if (row !== undefined && row.version === s.version) {
        this.#rows.delete(key);
        deleted += 1;
      }
    }
    return deleted;
  }

  async acquireLease(holder: string, ttlMs: number): Promise<boolean> {
    this.#check();
    this.calls.acquireLease += 1;
    const now = this.now();
    if (this.#lease !== null && this.#lease.holder !== holder && this.#lease.expiresAt > now) return false;
    this.#lease = { holder, expiresAt: now + ttlMs };
    return true;
  }

  async renewLease(holder: string, ttlMs: number): Promise<boolean> {
    this.#check();
    this.calls.renewLease += 1;
    if (this.#lease === null || this.#lease.holder !== holder) return false;
    this.#lease = { holder, expiresAt: this.now() + ttlMs };
    return true;
  }

  async releaseLease(holder: string): Promise<void> {
    this.#check();
    if (this.#lease?.holder === holder) this.#lease = null;
  }

  get leaseHolder(): string | null {
    return this.#lease !== null && this.#lease.expiresAt > this.now() ? this.#lease.holder : null;
  }

  async stats(): Promise<OutboxStats> {
    this.#check();
    let oldest: Date | null = null;
    for (const row of this.#rows.values()) if (oldest === null || row.enqueued_at < oldest) oldest = row.enqueued_at;
    const oldestAgeSeconds = oldest === null ? 0 : (this.now() - oldest.getTime()) / 1000;
    return { pending: this.#rows.size, oldestEnqueuedAt: oldest, oldestAgeSeconds, lastError: this.#lastError };
  }

  async recordError(message: string): Promise<void> {
    this.#check();
    this.#lastError = { message, at: new Date(this.now()) };
  }

  get lastError(): string | null {
    return this.#lastError?.message ?? null;
  }

  #check(): void {
    if (this.down !== null) throw this.down;
  }
}
