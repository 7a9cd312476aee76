/**
 * Loading a params file's parameters into the service's tables (`bkt params load`): every concept's parameters and
 * items compared with what is stored, and those that differ written as a new version with exactly those items, all in
 * one transaction. A concept whose stored parameters and items already equal the file's is left at its version, so
 * loading the same file again writes nothing.
 */
import type { BktParams } from '../bkt/index.js';
import type { ItemParams } from '../service/ports.js';
import { translateDbError } from './db-errors.js';
import { insertItemRows, upsertFitted } from './admin-store.js';
import { type ItemDbRow, itemsByConcept, sameItemValues, toItemRow } from './item-rows.js';
import { uuidArray } from './sql-arrays.js';
import type { SqlDatabase, SqlExecutor } from './sql.js';

/** One concept's parameters as a params file gives them. */
export interface ParameterSet {
  readonly conceptId: string;
  readonly params: BktParams;
  /** The items' own values (empty: the concept has none). */
  readonly items: readonly ItemParams[];
  /** The rows the parameters were fitted on (stored as sample_size). */
  readonly sampleSize: number;
}

export type LoadStatus = 'created' | 'changed' | 'unchanged';

export interface LoadOutcome {
  readonly conceptId: string;
  readonly status: LoadStatus;
  /** The version before (0: none) and after (equal when unchanged; what it would be on a dry run). */
  readonly previousVersion: number;
  readonly version: number;
  readonly items: number;
}

interface StoredRow {
  concept_id: string;
  version: number;
  p_l0: number;
  p_t: number;
  p_g: number;
  p_s: number;
  p_f: number;
}

const sameParams = (r: StoredRow, p: BktParams) =>
  r.p_l0 === p.prior && r.p_t === p.learn && r.p_g === p.guess && r.p_s === p.slip && r.p_f === p.forget;

function sameItems(stored: ReadonlyMap<string, ItemParams> | undefined, items: readonly ItemParams[]): boolean {
  if ((stored?.size ?? 0) !== items.length) return false;
  return items.every((i) => {
    const s = stored!.get(i.itemId);
    return s !== undefined && sameItemValues(s, i);
  });
}

/** The stored rows of these concepts, locked in concept order, with their items at the current version. */
async function lockCurrent(tx: SqlExecutor, conceptIds: readonly string[]) {
  const rows = await tx.query<StoredRow>(
    `SELECT concept_id, version, p_l0, p_t, p_g, p_s, p_f FROM public.bkt_parameters
     WHERE concept_id = ANY($1::uuid[]) ORDER BY concept_id FOR UPDATE`,
    [uuidArray(conceptIds)],
  );
  const items = await tx.query<ItemDbRow & { concept_id: string }>(
    `SELECT i.concept_id, i.item_id, i.p_g, i.p_s, i.p_t, i.p_f FROM public.bkt_item_parameters i
     JOIN public.bkt_parameters p ON p.concept_id = i.concept_id AND p.version = i.version
     WHERE p.concept_id = ANY($1::uuid[])`,
    [uuidArray(conceptIds)],
  );
  const itemsOf = new Map<string, Map<string, ItemParams>>();
  for (const [conceptId, list] of itemsByConcept(items)) itemsOf.set(conceptId, new Map(list.map((i) => [i.itemId, i])));
  return { rows: new Map(rows.map((r) => [r.concept_id, r])), itemsOf };
}

/** Compares `sets` with what is stored and, unless `dryRun`, writes those that differ, in one transaction. */
export async function loadParameterSets(db: SqlDatabase, sets: readonly ParameterSet[], dryRun: boolean): Promise<LoadOutcome[]> {
  const sorted = [...sets].sort((a, b) => (a.conceptId < b.conceptId ? -1 : a.conceptId > b.conceptId ? 1 : 0));
  try {
    return await db.transaction(async (tx) => {
      const { rows, itemsOf } = await lockCurrent(tx, sorted.map((s) => s.conceptId));
      const outcomes = sorted.map((s): LoadOutcome => {
        const r = rows.get(s.conceptId);
        const previousVersion = r?.version ?? 0;
        const unchanged = r !== undefined && sameParams(r, s.params) && sameItems(itemsOf.get(s.conceptId), s.items);
        return {
          conceptId: s.conceptId,
          status: r === undefined ? 'created' : unchanged ? 'unchanged' : 'changed',
          previousVersion,
          version: unchanged ? previousVersion : previousVersion + 1,
          items: s.items.length,
        };
      });
      const write = sorted.filter((_, i) => outcomes[i].status !== 'unchanged');
      if (dryRun || write.length === 0) return outcomes;
      const written = await upsertFitted(tx, write);
      const versionOf = new Map(written.map((w) => [w.concept_id, w.version]));
      await insertItemRows(
        tx,
        write.flatMap((s) =>
          s.items.map((i) => toItemRow(s.conceptId, versionOf.get(s.conceptId)!, i)),
        ),
      );
      return outcomes.map((o) => (o.status === 'unchanged' ? o : { ...o, version: versionOf.get(o.conceptId)! }));
    });
  } catch (e) {
    throw translateDbError(e);
  }
}
