/** The GraphWriter over the official neo4j-driver: one managed write transaction per batch, Cypher from cypher.ts. */
import neo4j, { type Driver, type ManagedTransaction } from 'neo4j-driver';
import type { GraphBatch, GraphWriter, MasteryProjection, StudentRemoval } from '../service/graph-port.js';
import type { Neo4jConfig } from './config.js';
import { CREATE_CONSTRAINTS, REMOVE_EMPTY_STUDENTS, REMOVE_STUDENT_RELATIONSHIPS, UPSERT_MASTERY } from './cypher.js';

/** The part of a driver the writer uses (a real `Driver` in production). */
export type Neo4jDriverLike = Pick<Driver, 'session' | 'close'>;

/** Parameters of UPSERT_MASTERY for a batch: versions as Neo4j Integers, levels as floats. */
export function upsertParams(rows: readonly MasteryProjection[]): { rows: Record<string, unknown>[] } {
  return {
    rows: rows.map((row) => ({
      student_id: row.student_id,
      concept_id: row.concept_id,
      level: row.level,
      mastered: row.mastered,
      version: neo4j.int(row.version),
      updated_at: row.updated_at,
    })),
  };
}

/** Parameters of REMOVE_STUDENT_RELATIONSHIPS. */
export function removalParams(removals: readonly StudentRemoval[]): { removals: Record<string, unknown>[] } {
  return { removals: removals.map((r) => ({ student_id: r.student_id, version: neo4j.int(r.version) })) };
}

/** Parameters of REMOVE_EMPTY_STUDENTS. */
export function emptyStudentParams(removals: readonly StudentRemoval[]): { removals: Record<string, unknown>[] } {
  return { removals: removals.map((r) => ({ student_id: r.student_id })) };
}

export class Neo4jGraphWriter implements GraphWriter {
  readonly #driver: Neo4jDriverLike;
  readonly #database: string;
  readonly #transactionTimeoutMs: number;

  constructor(driver: Neo4jDriverLike, options: { database: string; transactionTimeoutMs: number }) {
    this.#driver = driver;
    this.#database = options.database;
    this.#transactionTimeoutMs = options.transactionTimeoutMs;
  }

  async ensureConstraints(): Promise<void> {
    // Schema commands cannot share a transaction with data writes; each runs in its own.
    for (const statement of CREATE_CONSTRAINTS) {
      await this.#inWriteTransaction(async (tx) => {
        await tx.run(statement);
      });
    }
  }

  async write(batch: GraphBatch): Promise<void> {
    if (batch.upserts.length === 0 && batch.removals.length === 0) return;
    await this.#inWriteTransaction(async (tx) => {
      if (batch.removals.length > 0) {
        await tx.run(REMOVE_STUDENT_RELATIONSHIPS, removalParams(batch.removals));
        await tx.run(REMOVE_EMPTY_STUDENTS, emptyStudentParams(batch.removals));
      }
      if (batch.upserts.length > 0) await tx.run(UPSERT_MASTERY, upsertParams(batch.upserts));
    });
  }

  close(): Promise<void> {
    return this.#driver.close();
  }

  async #inWriteTransaction(work: (tx: ManagedTransaction) => Promise<void>): Promise<void> {
    const session = this.#driver.session({ database: this.#database, defaultAccessMode: neo4j.session.WRITE });
    try {
      await session.executeWrite(work, { timeout: this.#transactionTimeoutMs });
    } finally {
      await session.close();
    }
  }
}

/**
 * Opens a driver with a bounded pool and short timeouts. The driver's own retry loop is cut to its minimum: the relay
 * retries with backoff itself, and a write must fail within seconds so the relay can report the outage.
 */
export function createNeo4jWriter(config: Neo4jConfig): Neo4jGraphWriter {
  const driver = neo4j.driver(config.uri, neo4j.auth.basic(config.user, config.password), {
    maxConnectionPoolSize: config.maxConnectionPoolSize,
    connectionTimeout: config.connectionTimeoutMs,
    connectionAcquisitionTimeout: config.connectionTimeoutMs * 2,
    maxTransactionRetryTime: 0,
    userAgent: 'bkt-engine',
  });
  return new Neo4jGraphWriter(driver, { database: config.database, transactionTimeoutMs: config.transactionTimeoutMs });
}
