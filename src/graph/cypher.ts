/**
 * Every Cypher statement the project sends, in one place. Parameterised only: no value is ever spliced into the text.
 * test/graph/cypher.test.ts parses each one and checks its `$parameters` against what the writer passes.
 */

/** Uniqueness constraints that back the MERGEs on `id` (also their index). Idempotent. */
export const CREATE_CONSTRAINTS = [
  'CREATE CONSTRAINT bkt_student_id IF NOT EXISTS FOR (s:Student) REQUIRE s.id IS UNIQUE',
  'CREATE CONSTRAINT bkt_concept_id IF NOT EXISTS FOR (c:Concept) REQUIRE c.id IS UNIQUE',
] as const;

/**
 * Upserts one relationship per row. The WHERE refuses to go back: a row whose version is not newer than the stored one
 * changes nothing, so replays, retries and out-of-order batches are harmless.
 * `$rows`: [{student_id, concept_id, level (float), mastered (boolean), version (Integer), updated_at (ISO string)}].
 */
export const UPSERT_MASTERY = `
UNWIND $rows AS row
MERGE (s:Student {id: row.student_id})
MERGE (c:Concept {id: row.concept_id})
MERGE (s)-[r:HAS_MASTERY]->(c)
WITH r, row
WHERE r.version IS NULL OR r.version < row.version
SET r.level = row.level,
    r.mastered = row.mastered,
    r.version = row.version,
    r.updated_at = datetime(row.updated_at)
`.trim();

/**
 * Deletes an erased student's relationships written before the removal (a newer one belongs to an update made after
 * the erasure). `$removals`: [{student_id, version (Integer)}].
 */
export const REMOVE_STUDENT_RELATIONSHIPS = `
UNWIND $removals AS removal
MATCH (:Student {id: removal.student_id})-[r:HAS_MASTERY]->(:Concept)
WHERE r.version < removal.version
DELETE r
`.trim();

/**
 * Deletes the erased students' nodes once they have no relationship left. A separate statement in the same
 * transaction, so it sees the deletions above. Concept nodes stay: they hold no personal data.
 */
export const REMOVE_EMPTY_STUDENTS = `
UNWIND $removals AS removal
MATCH (s:Student {id: removal.student_id})
WHERE NOT EXISTS { (s)-[:HAS_MASTERY]->() }
DELETE s
`.trim();

/** All statements, for the parser test. */
export const ALL_STATEMENTS: readonly string[] = [
  ...CREATE_CONSTRAINTS,
  UPSERT_MASTERY,
  REMOVE_STUDENT_RELATIONSHIPS,
  REMOVE_EMPTY_STUDENTS,
];
