/**
 * Importing a past response log into history and mastery: every (student, concept) sequence is replayed through the
 * core from the prior (or, with `append`, from the pair's stored state), exactly as the service would have applied
 * the answers one by one, and written in bulk, one transaction per batch of whole pairs. Pairs of the file already
 * imported are skipped (a pair is all or nothing), which also resumes an import that was stopped.
 *
 * The parts: import-ids.ts (the UUIDs of ids and responses), import-replay.ts (the arithmetic, pure),
 * import-batches.ts (the transactions).
 */
import type { ResponseData } from '../bkt/index.js';
import type { ImportStore } from './fit-ports.js';
import { ImportRefusedError, writeBatches } from './import-batches.js';
import { BKT_IMPORT_NAMESPACE, byPairKey, type ImportMapping, mapIds, ResponseIds } from './import-ids.js';
import { type ImportItems, type ImportPair, ImportReplay } from './import-replay.js';
import type { ResolvedParameters } from './parameters-cache.js';
import { pairKey, type PairKey } from './ports.js';

export * from './import-ids.js';
export { ImportRefusedError } from './import-batches.js';
export type { ImportItems } from './import-replay.js';

export interface ImportLogInput {
  /** The log grouped by the core (sequences per concept and student in time order), with the file's own ids. */
  readonly data: ResponseData;
  /** The line of each input row (data.rowOf indexes it). */
  readonly lineOf: Uint32Array;
  /** The item of each input row, stored with its history row (and its guess and slip used where it has them). */
  readonly items?: ImportItems;
  readonly sha256: string;
  readonly namespace?: string;
  readonly append: boolean;
  /** Rows per transaction (whole pairs; default 20,000). */
  readonly batchRows?: number;
  /** Transactions in flight at once (default 2); see import-batches.ts. */
  readonly transactions?: number;
  readonly threshold: number;
  readonly parameters: (conceptId: string) => ResolvedParameters;
  readonly onProgress?: (rowsDone: number, rowsTotal: number) => void;
}

export interface ImportSummary {
  readonly rows: number;
  readonly pairs: number;
  readonly students: number;
  readonly concepts: number;
  readonly rowsImported: number;
  readonly pairsImported: number;
  /** Pairs (and their rows) of this file found already imported: skipped. */
  readonly pairsAlreadyImported: number;
  readonly rowsAlreadyImported: number;
  /** Pairs continued from a stored state (append). */
  readonly pairsAppended: number;
  /** Whether the history table was vacuumed afterwards (false: the database refused; see ImportStore.settle). */
  readonly settled: boolean;
}

const CHUNK = 10_000;

/**
 * The file's pairs in the order of the history table's (student, concept, seq) keys: a fresh import then appends to
 * its indexes instead of inserting all over them, and each batch locks its pairs in the order every writer uses.
 */
function pairsOf(data: ResponseData, mapping: ImportMapping): ImportPair[] {
  const pairs: ImportPair[] = [];
  for (let c = 0; c < data.conceptIds.length; c++) {
    const conceptId = mapping.concepts[c][1];
    for (let s = data.conceptSeqs[c]; s < data.conceptSeqs[c + 1]; s++) {
      const rows = data.offsets[s + 1] - data.offsets[s];
      if (rows > 0) pairs.push({ key: { studentId: mapping.students[data.seqStudent[s]][1], conceptId }, concept: c, seq: s, rows });
    }
  }
  return pairs.sort((a, b) => byPairKey(a.key, b.key));
}

/** The keys of `pairs` for which `query` (in chunks) answers. */
async function keysWhere<T>(pairs: readonly ImportPair[], query: (chunk: readonly ImportPair[]) => Promise<readonly T[]>, key: (t: T) => string): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < pairs.length; i += CHUNK) for (const t of await query(pairs.slice(i, i + CHUNK))) out.add(key(t));
  return out;
}

const keyOf = (k: PairKey) => pairKey(k.studentId, k.conceptId);

/** Refuses to replace pairs that have state unless appending. */
function refuseStateful(todo: readonly ImportPair[], withState: ReadonlySet<string>): never {
  const refused = todo.filter((p) => withState.has(keyOf(p.key))).map((p) => p.key);
  const first = refused[0];
  throw new ImportRefusedError(
    refused,
    `${withState.size} (student, concept) pairs of this file already have mastery state (the first: student ` +
      `${first.studentId}, concept ${first.conceptId}); importing would replace it. Rerun with --append to ` +
      'continue those pairs from their stored state (their answers are added after the stored ones)',
  );
}

export async function importLog(store: ImportStore, input: ImportLogInput, mapping: ImportMapping = mapIds(input.data, input.namespace)): Promise<ImportSummary> {
  const { data, lineOf, append } = input;
  const ids = new ResponseIds(input.sha256, input.namespace ?? BKT_IMPORT_NAMESPACE);
  const pairs = pairsOf(data, mapping);

  // A pair is imported all or nothing, so its first row tells whether this file's rows of it are recorded.
  const firstId = (p: ImportPair) => ids.text(lineOf[data.rowOf[data.offsets[p.seq]]]);
  const done = await keysWhere(
    pairs,
    async (chunk) => {
      const found = await store.existingResponseIds(chunk.map(firstId));
      return chunk.filter((p) => found.has(firstId(p))).map((p) => p.key);
    },
    keyOf,
  );
  const todo = pairs.filter((p) => !done.has(keyOf(p.key)));
  const rowsTotal = todo.reduce((n, p) => n + p.rows, 0);
  const withState = await keysWhere(todo, (chunk) => store.pairsWithState(chunk.map((p) => p.key)), keyOf);
  if (withState.size > 0 && !append) refuseStateful(todo, withState);

  const replay = new ImportReplay(
    { data, lineOf, ids, items: input.items, threshold: input.threshold, parametersOf: (c) => input.parameters(mapping.concepts[c][1]) },
    !append,
  );
  let rowsDone = 0;
  input.onProgress?.(0, rowsTotal);
  const pairsAppended = await writeBatches(store, replay, todo, {
    append,
    batchRows: input.batchRows ?? 20_000,
    transactions: input.transactions ?? 2,
    parameters: input.parameters,
    onBatch: (rows) => {
      rowsDone += rows;
      input.onProgress?.(rowsDone, rowsTotal);
    },
  });
  // A fresh import leaves every history row without its visibility bit: the first fit job would read it from the
  // heap row by row, about 10x slower than from the index alone (measured on assist2009).
  const settled = rowsTotal > 0 ? await store.settle() : true;

  const rowsAll = pairs.reduce((n, p) => n + p.rows, 0);
  return {
    rows: rowsAll,
    pairs: pairs.length,
    students: data.studentIds.length,
    concepts: data.conceptIds.length,
    rowsImported: rowsTotal,
    pairsImported: todo.length,
    pairsAlreadyImported: pairs.length - todo.length,
    rowsAlreadyImported: rowsAll - rowsTotal,
    pairsAppended,
    settled,
  };
}
