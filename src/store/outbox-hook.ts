/**
 * The graph outbox's in-transaction hook (tables in migration 20261127200000_graph_outbox.sql; design in
 * docs/graph.md): what every update transaction writes to the outbox while the projection is on. The relay's side
 * is in outbox-relay-store.ts; the operator's (`bkt graph`) in graph-admin.ts.
 */
import type { PairWrite } from '../service/ports.js';
import type { PairsWrittenHook } from './sql-store.js';
import type { SqlExecutor } from './sql.js';

/**
 * How long an instance may act on the on/off flag it read before reading it again (inside the update transaction).
 * `bkt graph enable` waits this long (plus a margin) before queueing every pair, so no update is missed.
 */
export const GRAPH_FLAG_TTL_MS = 1_000;

/**
 * The outbox upsert for the pairs in the jsonb parameter `pairs` (fields student_id, concept_id and the level in
 * `level`): one row per pair with a new version from the sequence; an older version never replaces a newer pending
 * one. `threshold` is the parameter holding the mastery threshold.
 */
function upsertMasteryRows(pairs: string, level: string, threshold: string): string {
  return `
INSERT INTO bkt_internal.graph_outbox AS o (kind, student_id, concept_id, level, mastered, version, updated_at)
SELECT 'mastery', x.student_id, x.concept_id, x.${level}, x.${level} >= ${threshold}::float8,
  nextval('bkt_internal.graph_version_seq'), now()
FROM jsonb_to_recordset(${pairs}::jsonb) AS x(student_id uuid, concept_id uuid, ${level} float8)
ORDER BY x.student_id, x.concept_id
ON CONFLICT (kind, student_id, concept_id) DO UPDATE
  SET level = excluded.level, mastered = excluded.mastered, version = excluded.version, updated_at = excluded.updated_at
  WHERE o.version < excluded.version`;
}

const UPSERT_MASTERY_ROWS = upsertMasteryRows('$1', 'level', '$2');

/**
 * The outbox part of the update transaction: while the projection is on, upserts one row per written pair with a
 * new version from the sequence; an older version never replaces a newer pending one. The service's updates run it
 * inline, with no round trip of its own (a single answer inside bkt_internal.write_response, a batch as part of the
 * statement that writes the state and history); imports and fit-job replays call the function. The on/off flag is
 * read in the caller's transaction and kept for GRAPH_FLAG_TTL_MS (by `now`, in milliseconds).
 */
export function pairsWrittenHook(threshold: number, now: () => number = () => performance.now()): PairsWrittenHook {
  let flag: { value: boolean; readAt: number } | null = null;
  const enabled = async (tx: SqlExecutor): Promise<boolean> => {
    const t = now();
    if (flag !== null && t - flag.readAt < GRAPH_FLAG_TTL_MS) return flag.value;
    const rows = await tx.query<{ enabled: boolean }>('SELECT enabled FROM bkt_internal.graph_settings');
    flag = { value: rows[0]?.enabled === true, readAt: t };
    return flag.value;
  };
  const hook = async (tx: SqlExecutor, pairs: readonly PairWrite[]) => {
    if (pairs.length === 0 || !(await enabled(tx))) return;
    await tx.query(UPSERT_MASTERY_ROWS, [
      JSON.stringify(pairs.map((p) => ({ student_id: p.studentId, concept_id: p.conceptId, level: p.state.known }))),
      threshold,
    ]);
  };
  return Object.assign(hook, {
    inline: { active: enabled, sql: upsertMasteryRows('$1', 'p_known', '$3'), threshold },
  });
}
