/**
 * RecordingGraphWriter: a TEST DOUBLE of the Neo4j writer for tests and benchmarks. It keeps the graph in memory and
 * applies the same rules as the Cypher in cypher.ts (version guard, removals before upserts, a student node removed
 * once it has no relationship). Passing against it says nothing about Neo4j itself; see docs/graph.md.
 */
import type { GraphBatch, GraphWriter, MasteryProjection } from '../service/graph-port.js';

/** A relationship as stored by the double. */
export interface RecordedMastery {
  readonly level: number;
  readonly mastered: boolean;
  readonly version: number;
  readonly updated_at: string;
}

export class RecordingGraphWriter implements GraphWriter {
  /** student id -> concept id -> relationship. A key present means the Student node exists. */
  readonly #students = new Map<string, Map<string, RecordedMastery>>();
  readonly #concepts = new Set<string>();
  #down: Error | null = null;
  #failuresLeft = 0;
  #nextError: Error = new Error('simulated graph failure');
  /** Batches applied, in order (copies), for assertions on batching. */
  readonly batches: GraphBatch[] = [];
  constraintsEnsured = 0;
  closed = false;

  /** While set, every call fails with this error, as if Neo4j were unreachable. */
  setDown(error: Error | null): void {
    this.#down = error;
  }

  /** The next `count` calls fail, then calls succeed again. */
  failNext(count: number, error: Error = new Error('simulated graph failure')): void {
    this.#failuresLeft = count;
    this.#down = null;
    this.#nextError = error;
  }

  async ensureConstraints(): Promise<void> {
    this.#maybeFail();
    this.constraintsEnsured += 1;
  }

  async write(batch: GraphBatch): Promise<void> {
    this.#maybeFail();
    // Like one Neo4j transaction: a bad row fails the whole batch before anything changes.
    for (const row of batch.upserts) {
      if (Number.isNaN(Date.parse(row.updated_at))) throw new TypeError(`updated_at "${row.updated_at}" is not an ISO datetime`);
    }
    this.batches.push({ upserts: [...batch.upserts], removals: [...batch.removals] });
    for (const removal of batch.removals) {
      const rels = this.#students.get(removal.student_id);
      if (rels === undefined) continue;
      for (const [concept, rel] of rels) if (rel.version < removal.version) rels.delete(concept);
      if (rels.size === 0) this.#students.delete(removal.student_id);
    }
    for (const row of batch.upserts) this.#upsert(row);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** The relationship from a student to a concept, if any. */
  get(studentId: string, conceptId: string): RecordedMastery | undefined {
    return this.#students.get(studentId)?.get(conceptId);
  }

  hasStudent(studentId: string): boolean {
    return this.#students.has(studentId);
  }

  hasConcept(conceptId: string): boolean {
    return this.#concepts.has(conceptId);
  }

  /** Every relationship as `student|concept -> relationship`, for comparing with the source of truth. */
  snapshot(): Map<string, RecordedMastery> {
    const out = new Map<string, RecordedMastery>();
    for (const [student, rels] of this.#students) for (const [concept, rel] of rels) out.set(`${student}|${concept}`, rel);
    return out;
  }

  #upsert(row: MasteryProjection): void {
    let rels = this.#students.get(row.student_id);
    if (rels === undefined) {
      rels = new Map();
      this.#students.set(row.student_id, rels);
    }
    this.#concepts.add(row.concept_id);
    const current = rels.get(row.concept_id);
    if (current !== undefined && !(current.version < row.version)) return;
    rels.set(row.concept_id, { level: row.level, mastered: row.mastered, version: row.version, updated_at: row.updated_at });
  }

  #maybeFail(): void {
    if (this.#down !== null) throw this.#down;
    if (this.#failuresLeft > 0) {
      this.#failuresLeft -= 1;
      throw this.#nextError;
    }
  }
}
