/**
 * Importing a past response log into history and mastery: every (student, concept) sequence is replayed through the
 * core from the prior (or, with `append`, from the pair's stored state), exactly as the service would have applied
 * the answers one by one, and written in bulk, one transaction per batch of whole pairs.
 *
 * Ids: a UUID is kept (lower-cased); any other id becomes the UUIDv5 of `student:<id>` or `concept:<id>` under the
 * namespace (BKT_IMPORT_NAMESPACE unless another is given). Each row's response_id is the UUIDv5 of
 * `response:<sha256 of the file>:<line>`, so importing the same file again finds its rows already recorded: pairs
 * already imported are skipped (a pair is all or nothing), which also resumes an import that was stopped.
 */
import { hash } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import {
  initialState, type MasteryState, type ResponseData, traceMastery, updateMastery,
} from '../bkt/index.js';
import { ServiceError } from './errors.js';
import { HistoryColumns, ORIGIN_CODE, type ImportStore } from './fit-ports.js';
import type { ResolvedParameters } from './parameters-cache.js';
import type { PairKey, PairWrite, StoredPair } from './ports.js';

/** The namespace of imported ids (a fixed, random UUID; documented in docs/fitting-service.md). */
export const BKT_IMPORT_NAMESPACE = '3f6c1d2e-7a4b-4e5f-9c8d-0b1a2c3d4e5f';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The UUID an imported id is stored under. */
export function importedId(kind: 'student' | 'concept', id: string, namespace: string = BKT_IMPORT_NAMESPACE): string {
  return UUID.test(id) ? id.toLowerCase() : uuidv5(`${kind}:${id}`, namespace);
}

/**
 * The response ids of one file: UUIDv5 (RFC 9562: SHA-1 of the namespace's 16 bytes and the name, version and
 * variant bits set) of `response:<sha256 of the file>:<line>`, computed straight into bytes with one buffer for all
 * lines (an import makes one per row; the general-purpose v5 costs several allocations and a validation each).
 */
export class ResponseIds {
  private readonly buf: Buffer;
  private readonly prefix: number;

  constructor(sha256: string, namespace: string = BKT_IMPORT_NAMESPACE) {
    const head = Buffer.from(`response:${sha256}:`, 'utf8');
    this.buf = Buffer.alloc(16 + head.length + 20);
    Buffer.from(namespace.replaceAll('-', ''), 'hex').copy(this.buf, 0);
    head.copy(this.buf, 16);
    this.prefix = 16 + head.length;
  }

  /** Writes the id of `line` as 16 bytes at `out[at..]`. */
  write(line: number, out: Uint8Array, at: number): void {
    const end = this.prefix + this.buf.write(String(line), this.prefix, 'latin1');
    const d = hash('sha1', this.buf.subarray(0, end), 'buffer');
    out.set(d.subarray(0, 16), at);
    out[at + 6] = (d[6] & 0x0f) | 0x50;
    out[at + 8] = (d[8] & 0x3f) | 0x80;
  }

  /** The id of `line` in text form. */
  text(line: number): string {
    const b = new Uint8Array(16);
    this.write(line, b, 0);
    const h = Buffer.from(b).toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}

/** The response_id of the row on `line` of the file whose bytes hash to `sha256`. */
export function importedResponseId(sha256: string, line: number, namespace: string = BKT_IMPORT_NAMESPACE): string {
  return new ResponseIds(sha256, namespace).text(line);
}

/** A pair of the file already has state and `append` was not asked for. */
export class ImportRefusedError extends Error {
  constructor(readonly pairs: readonly PairKey[], reason: string) {
    super(reason);
    this.name = 'ImportRefusedError';
  }
}

export interface ImportLogInput {
  /** The log grouped by the core (sequences per concept and student in time order), with the file's own ids. */
  readonly data: ResponseData;
  /** The line of each input row (data.rowOf indexes it). */
  readonly lineOf: Uint32Array;
  readonly sha256: string;
  readonly namespace?: string;
  readonly append: boolean;
  /** Rows per transaction (whole pairs; default 20,000). */
  readonly batchRows?: number;
  /**
   * Transactions in flight at once (default 2): batches hold disjoint pairs, so they commit independently, and the
   * server works on one while the next is computed and sent. PGlite runs them one after the other.
   */
  readonly transactions?: number;
  readonly threshold: number;
  readonly parameters: (conceptId: string) => ResolvedParameters;
  readonly onProgress?: (rowsDone: number, rowsTotal: number) => void;
}

export interface ImportMapping {
  readonly students: ReadonlyArray<readonly [original: string, uuid: string]>;
  readonly concepts: ReadonlyArray<readonly [original: string, uuid: string]>;
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

interface Pair {
  readonly key: PairKey;
  /** Concept index in data. */
  readonly concept: number;
  /** Sequence index in data. */
  readonly seq: number;
  readonly rows: number;
}

const CHUNK = 10_000;

/** (student, concept) order; UUIDs in lower-case text compare like the database compares their bytes. */
export const byPairKey = (a: PairKey, b: PairKey): number =>
  a.studentId < b.studentId ? -1 : a.studentId > b.studentId ? 1 : a.conceptId < b.conceptId ? -1 : a.conceptId > b.conceptId ? 1 : 0;

/** The UUIDs of the file's ids, checked for collisions (two ids differing only in the case of a UUID). */
export function mapIds(data: ResponseData, namespace: string = BKT_IMPORT_NAMESPACE): ImportMapping {
  const map = (kind: 'student' | 'concept', ids: readonly string[]) => {
    const seen = new Map<string, string>();
    return ids.map((id): readonly [string, string] => {
      const u = importedId(kind, id, namespace);
      const other = seen.get(u);
      if (other !== undefined) {
        throw new ServiceError('invalid_input', `${kind} ids ${JSON.stringify(other)} and ${JSON.stringify(id)} are the same UUID`, `${kind}_id`);
      }
      seen.set(u, id);
      return [id, u];
    });
  };
  return { students: map('student', data.studentIds), concepts: map('concept', data.conceptIds) };
}

/** Every sequence of `data` traced from its concept's prior: per-row columns and each sequence's final state. */
function traceFromPriors(data: ResponseData, parametersOf: (concept: number) => ResolvedParameters, threshold: number) {
  const rows = data.responses.length;
  const nSeq = data.offsets.length - 1;
  const out = {
    pCorrect: new Float64Array(rows),
    masteryBefore: new Float64Array(rows),
    masteryAfter: new Float64Array(rows),
    unknownAfter: new Float64Array(rows),
    finalKnown: new Float64Array(nSeq),
    finalUnknown: new Float64Array(nSeq),
  };
  /** The parameter version each concept was traced with. */
  const versions = new Int32Array(data.conceptIds.length);
  for (let c = 0; c < data.conceptIds.length; c++) {
    const from = data.conceptSeqs[c];
    const to = data.conceptSeqs[c + 1];
    if (to === from) continue;
    const { params, version } = parametersOf(c);
    versions[c] = version;
    // Offsets are row numbers of the whole data set, so the per-row columns are filled in place; the final states
    // are per sequence, so they get this concept's part of their columns.
    traceMastery(params, { responses: data.responses, offsets: data.offsets.subarray(from, to + 1) }, {
      ...out,
      finalKnown: out.finalKnown.subarray(from, to),
      finalUnknown: out.finalUnknown.subarray(from, to),
    }, threshold);
  }
  return { ...out, versions };
}

export async function importLog(store: ImportStore, input: ImportLogInput, mapping: ImportMapping = mapIds(input.data, input.namespace)): Promise<ImportSummary> {
  const { data, lineOf, sha256, append, threshold } = input;
  const ids = new ResponseIds(sha256, input.namespace ?? BKT_IMPORT_NAMESPACE);
  const lineOfRow = (row: number) => lineOf[data.rowOf[row]];
  const responseId = (row: number) => ids.text(lineOfRow(row));

  const pairs: Pair[] = [];
  for (let c = 0; c < data.conceptIds.length; c++) {
    const conceptId = mapping.concepts[c][1];
    for (let s = data.conceptSeqs[c]; s < data.conceptSeqs[c + 1]; s++) {
      const rows = data.offsets[s + 1] - data.offsets[s];
      if (rows > 0) pairs.push({ key: { studentId: mapping.students[data.seqStudent[s]][1], conceptId }, concept: c, seq: s, rows });
    }
  }
  // In the order of the history table's (student, concept, seq) keys: a fresh import then appends to its indexes
  // instead of inserting all over them, and each batch locks its pairs in the order every writer uses.
  pairs.sort((a, b) => byPairKey(a.key, b.key));

  // A pair is imported all or nothing, so its first row tells whether this file's rows of it are recorded.
  const done = new Set<string>();
  for (let i = 0; i < pairs.length; i += CHUNK) {
    const chunk = pairs.slice(i, i + CHUNK);
    const firstIds = chunk.map((p) => responseId(data.offsets[p.seq]));
    const found = await store.existingResponseIds(firstIds);
    chunk.forEach((p, k) => {
      if (found.has(firstIds[k])) done.add(`${p.key.studentId}/${p.key.conceptId}`);
    });
  }
  const todo = pairs.filter((p) => !done.has(`${p.key.studentId}/${p.key.conceptId}`));
  const rowsTotal = todo.reduce((n, p) => n + p.rows, 0);

  const withState = new Set<string>();
  for (let i = 0; i < todo.length; i += CHUNK) {
    for (const k of await store.pairsWithState(todo.slice(i, i + CHUNK).map((p) => p.key))) withState.add(`${k.studentId}/${k.conceptId}`);
  }
  if (withState.size > 0 && !append) {
    const first = todo.find((p) => withState.has(`${p.key.studentId}/${p.key.conceptId}`))!;
    throw new ImportRefusedError(
      todo.filter((p) => withState.has(`${p.key.studentId}/${p.key.conceptId}`)).map((p) => p.key),
      `${withState.size} (student, concept) pairs of this file already have mastery state (the first: student ` +
        `${first.key.studentId}, concept ${first.key.conceptId}); importing would replace it. Rerun with --append to ` +
        'continue those pairs from their stored state (their answers are added after the stored ones)',
    );
  }

  // Without append every pair starts from its concept's prior: the core traces each concept's sequences in one pass
  // over the flat arrays (no object per row), and the batches copy from these columns.
  const traced = append ? undefined : traceFromPriors(data, (c) => input.parameters(mapping.concepts[c][1]), threshold);

  /** Replays one pair's rows from `start`, appending after `version`; `index` is its place in the batch's pair list. */
  const replay = (p: Pair, index: number, start: { state: MasteryState; version: number; nResponses: number; nCorrect: number }, h: HistoryColumns): PairWrite => {
    if (traced && start.version === 0) return copyTraced(p, index, traced.versions[p.concept], h);
    const { params, version: paramsVersion, source } = input.parameters(p.key.conceptId);
    const sourceCode = ORIGIN_CODE[source];
    let state = start.state;
    let nCorrect = start.nCorrect;
    for (let t = data.offsets[p.seq], k = 1; t < data.offsets[p.seq + 1]; t++, k++) {
      const correct = data.responses[t] === 1;
      const u = updateMastery(state, correct, params, threshold);
      state = u.state;
      if (correct) nCorrect++;
      const i = h.length++;
      h.pairOf[i] = index;
      h.seq[i] = start.version + k;
      h.correct[i] = correct ? 1 : 0;
      ids.write(lineOfRow(t), h.responseIds, 16 * i);
      h.masteryBefore[i] = u.masteryBefore;
      h.masteryAfter[i] = u.masteryAfter;
      h.pUnknownAfter[i] = state.unknown;
      h.pCorrect[i] = u.pCorrect;
      h.paramsVersion[i] = paramsVersion;
      h.paramsSource[i] = sourceCode;
    }
    return {
      ...p.key,
      state,
      version: start.version + p.rows,
      nResponses: start.nResponses + p.rows,
      nCorrect,
      paramsVersion,
      firstAnsweredAt: null,
      lastAnsweredAt: null,
    };
  };

  /** A pair's rows from the traced columns (a pair of a file without append, starting at the prior). */
  const copyTraced = (p: Pair, index: number, paramsVersion: number, h: HistoryColumns): PairWrite => {
    const t = traced!;
    const sourceCode = paramsVersion === 0 ? ORIGIN_CODE.default : ORIGIN_CODE.concept;
    let nCorrect = 0;
    for (let r = data.offsets[p.seq], k = 1; r < data.offsets[p.seq + 1]; r++, k++) {
      const i = h.length++;
      const correct = data.responses[r];
      nCorrect += correct;
      h.pairOf[i] = index;
      h.seq[i] = k;
      h.correct[i] = correct;
      ids.write(lineOfRow(r), h.responseIds, 16 * i);
      h.masteryBefore[i] = t.masteryBefore[r];
      h.masteryAfter[i] = t.masteryAfter[r];
      h.pUnknownAfter[i] = t.unknownAfter[r];
      h.pCorrect[i] = t.pCorrect[r];
      h.paramsVersion[i] = paramsVersion;
      h.paramsSource[i] = sourceCode;
    }
    return {
      ...p.key,
      state: { known: t.finalKnown[p.seq], unknown: t.finalUnknown[p.seq] },
      version: p.rows,
      nResponses: p.rows,
      nCorrect,
      paramsVersion,
      firstAnsweredAt: null,
      lastAnsweredAt: null,
    };
  };

  let rowsDone = 0;
  let pairsAppended = 0;
  // Batches in the database at once: while one transaction waits on the server, the next is computed and sent.
  const inflight: Promise<void>[] = [];
  const drain = async (keep: number) => {
    while (inflight.length > keep) {
      try {
        await inflight.shift();
      } catch (e) {
        // Let the others finish (each is its own transaction) before reporting the failure.
        await Promise.allSettled(inflight.splice(0));
        throw e;
      }
    }
  };
  const transactions = Math.max(1, input.transactions ?? 2);
  /** Continues each pair of the batch from its stored state (a pair without one starts from the prior). */
  const appendBatch = (batch: readonly Pair[], rows: number) =>
    store.appendPairs(
      batch.map((p) => {
        const { params, version } = input.parameters(p.key.conceptId);
        return { key: p.key, state: initialState(params), paramsVersion: version };
      }),
      (locked: ReadonlyMap<string, StoredPair>) => {
        const history = new HistoryColumns(rows);
        const writes = batch.map((p, index) => {
          const stored = locked.get(`${p.key.studentId}/${p.key.conceptId}`);
          if (!stored) throw new Error(`pair ${p.key.studentId}/${p.key.conceptId} was not locked`);
          if (stored.version > 0) pairsAppended++;
          return replay(p, index, stored, history);
        });
        return { pairs: writes, history };
      },
    );
  const batchRows = input.batchRows ?? 20_000;
  input.onProgress?.(0, rowsTotal);
  for (let i = 0; i < todo.length; ) {
    const batch: Pair[] = [];
    let rows = 0;
    while (i < todo.length && (batch.length === 0 || rows + todo[i].rows <= batchRows)) {
      rows += todo[i].rows;
      batch.push(todo[i++]);
    }
    if (append) {
      await appendBatch(batch, rows);
      rowsDone += rows;
      input.onProgress?.(rowsDone, rowsTotal);
      continue;
    }
    const history = new HistoryColumns(rows);
    const writes = batch.map((p, index) => {
      const { params } = input.parameters(p.key.conceptId);
      return replay(p, index, { state: initialState(params), version: 0, nResponses: 0, nCorrect: 0 }, history);
    });
    await drain(transactions - 1);
    const written = store.insertPairs(writes, history).then(({ conflicts }) => {
      if (conflicts.length > 0) {
        throw new ImportRefusedError(
          conflicts,
          `${conflicts.length} pairs gained mastery state while importing (the service is recording answers for them); ` +
            'rerun with --append to continue them from their state',
        );
      }
      rowsDone += rows;
      input.onProgress?.(rowsDone, rowsTotal);
    });
    // A failure surfaces at the next drain; keep it from counting as unhandled meanwhile.
    written.catch(() => {});
    inflight.push(written);
  }
  await drain(0);
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
