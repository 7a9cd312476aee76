/**
 * Ports of the graph projection: the outbox the store keeps, the graph writer that projects it, and the handle the
 * service and HTTP layers use to wake the relay and read its lag. Types only; adapters live in src/store and src/graph.
 *
 * Versions: every outbox row carries a version taken from one source that only grows, also across erasure of a
 * student (a database sequence does this). Mastery upserts and student removals compare versions with each other, so
 * a removal only deletes relationships written before it and an update never replaces a newer one.
 */

/** One (student, concept) pair's mastery as it should appear on its `HAS_MASTERY` relationship. */
export interface MasteryProjection {
  readonly student_id: string;
  readonly concept_id: string;
  /** P(known) after the update, in [0, 1]. */
  readonly level: number;
  readonly mastered: boolean;
  /** Positive safe integer; a newer update of the pair has a larger version. */
  readonly version: number;
  /** ISO 8601 timestamp of the update, with offset (sent to Cypher's `datetime()`). */
  readonly updated_at: string;
}

/** Removal of all of a student's relationships written before `version` (queued when the student is erased). */
export interface StudentRemoval {
  readonly student_id: string;
  readonly version: number;
}

/** A pending outbox row: at most one per (student, concept) pair and one removal per student. */
export type OutboxRow =
  | ({ readonly kind: 'mastery'; readonly enqueued_at: Date } & MasteryProjection)
  | ({ readonly kind: 'removal'; readonly enqueued_at: Date } & StudentRemoval);

/** What identifies a row and the version that was sent; a row is deleted only if its version is still this one. */
export type OutboxSent =
  | { readonly kind: 'mastery'; readonly student_id: string; readonly concept_id: string; readonly version: number }
  | { readonly kind: 'removal'; readonly student_id: string; readonly version: number };

/** Pending rows and their age, for `bkt graph status`, `/ready` and `/metrics`. */
export interface OutboxStats {
  readonly pending: number;
  /** When the oldest pending row was first queued (kept when the row is later updated), or null when none. */
  readonly oldestEnqueuedAt: Date | null;
  /** Its age in seconds by the store's clock when read (0 when none), so app and database clocks need not agree. */
  readonly oldestAgeSeconds: number;
  readonly lastError: { readonly message: string; readonly at: Date } | null;
}

/**
 * The outbox as the relay needs it. Every method is its own short statement or transaction: the relay never holds a
 * database transaction open across a Neo4j call. Lease times are measured by the store's clock (the database's
 * `now()`), so instances with skewed clocks agree on expiry.
 */
export interface OutboxPort {
  /** At most `limit` pending rows, oldest `enqueued_at` first (ties in insertion order). */
  readPending(limit: number): Promise<OutboxRow[]>;
  /** Deletes each row whose version is still the one sent; a row updated meanwhile stays pending. Returns the count deleted. */
  deleteIfUnchanged(sent: readonly OutboxSent[]): Promise<number>;
  /** Takes the relay lease if it is free, expired or already `holder`'s, and sets its expiry to now + ttlMs. */
  acquireLease(holder: string, ttlMs: number): Promise<boolean>;
  /** Extends the lease to now + ttlMs only if `holder` still holds it (false when another instance took it). */
  renewLease(holder: string, ttlMs: number): Promise<boolean>;
  /** Frees the lease if `holder` holds it, so another instance can take over at once. */
  releaseLease(holder: string): Promise<void>;
  stats(): Promise<OutboxStats>;
  /** Keeps the latest relay error (message only, no credentials) for `bkt graph status`. */
  recordError(message: string): Promise<void>;
}

/** One Neo4j transaction's worth of changes: removals are applied before upserts. */
export interface GraphBatch {
  readonly upserts: readonly MasteryProjection[];
  readonly removals: readonly StudentRemoval[];
}

/** Writes batches to the graph, never going back to an older version of a relationship. */
export interface GraphWriter {
  /** Creates the uniqueness constraints the MERGEs rely on, if they do not exist yet. */
  ensureConstraints(): Promise<void>;
  /** Applies the whole batch in one transaction, or nothing (then it throws). */
  write(batch: GraphBatch): Promise<void>;
  close(): Promise<void>;
}

/** Figures for `/metrics` and `/ready`, refreshed by the relay on each cycle. */
export interface GraphRelayMetrics {
  readonly pending: number;
  readonly oldestPendingSeconds: number;
  /** Failed relay attempts since start (a counter). */
  readonly failures: number;
  /** True between the first failure of an outage and the next success. */
  readonly failing: boolean;
  readonly holdsLease: boolean;
}

/** What the service and HTTP layers see of the relay. */
export interface GraphProjection {
  /** Wakes the relay after a commit that queued outbox rows; never throws and never waits. */
  notify(): void;
  metrics(): GraphRelayMetrics;
}
