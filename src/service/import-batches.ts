/**
 * The transactions of an import: the pairs to write cut into batches of whole pairs, each batch one transaction.
 * A fresh import inserts its batches with up to `transactions` in flight (they hold disjoint pairs, so they commit
 * independently, and the server works on one while the next is computed and sent); an append locks each batch's
 * pairs and continues them from their stored state, one batch at a time.
 */
import { initialState } from '../bkt/index.js';
import type { ImportStore } from './fit-ports.js';
import type { ImportPair, ImportReplay } from './import-replay.js';
import type { ResolvedParameters } from './parameters-cache.js';
import { pairKey, type PairKey, type StoredPair } from './ports.js';

/** A pair of the file already has state and `append` was not asked for. */
export class ImportRefusedError extends Error {
  constructor(readonly pairs: readonly PairKey[], reason: string) {
    super(reason);
    this.name = 'ImportRefusedError';
  }
}

export interface BatchOptions {
  readonly append: boolean;
  /** Rows per transaction (whole pairs). */
  readonly batchRows: number;
  /** Transactions in flight at once (fresh imports; PGlite runs them one after the other). */
  readonly transactions: number;
  /** The parameters of a concept by its UUID (the prior of a pair without state). */
  readonly parameters: (conceptId: string) => ResolvedParameters;
  /** After each committed batch, with its row count. */
  readonly onBatch: (rows: number) => void;
}

/** Consecutive batches of whole pairs of at most `batchRows` rows (a larger pair is a batch alone). */
function* batches(pairs: readonly ImportPair[], batchRows: number): Generator<{ batch: ImportPair[]; rows: number }> {
  for (let i = 0; i < pairs.length; ) {
    const batch: ImportPair[] = [];
    let rows = 0;
    while (i < pairs.length && (batch.length === 0 || rows + pairs[i].rows <= batchRows)) {
      rows += pairs[i].rows;
      batch.push(pairs[i++]);
    }
    yield { batch, rows };
  }
}

/** Writes every pair of `todo`; returns how many of them continued from a stored state. */
export async function writeBatches(store: ImportStore, replay: ImportReplay, todo: readonly ImportPair[], o: BatchOptions): Promise<number> {
  if (o.append) return appendBatches(store, replay, todo, o);
  await insertBatches(store, replay, todo, o);
  return 0;
}

async function appendBatches(store: ImportStore, replay: ImportReplay, todo: readonly ImportPair[], o: BatchOptions): Promise<number> {
  let appended = 0;
  for (const { batch, rows } of batches(todo, o.batchRows)) {
    const priors = batch.map((p) => {
      const { params, version } = o.parameters(p.key.conceptId);
      return { key: p.key, state: initialState(params), paramsVersion: version };
    });
    await store.appendPairs(priors, (locked: ReadonlyMap<string, StoredPair>) => {
      const history = replay.columns(rows);
      const pairs = batch.map((p, index) => {
        const stored = locked.get(pairKey(p.key.studentId, p.key.conceptId));
        if (!stored) throw new Error(`pair ${pairKey(p.key.studentId, p.key.conceptId)} was not locked`);
        if (stored.version > 0) appended++;
        return replay.pairRows(p, index, stored, history);
      });
      return { pairs, history };
    });
    o.onBatch(rows);
  }
  return appended;
}

async function insertBatches(store: ImportStore, replay: ImportReplay, todo: readonly ImportPair[], o: BatchOptions): Promise<void> {
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
  const transactions = Math.max(1, o.transactions);
  for (const { batch, rows } of batches(todo, o.batchRows)) {
    const history = replay.columns(rows);
    const writes = batch.map((p, index) => {
      const { params } = o.parameters(p.key.conceptId);
      return replay.pairRows(p, index, { state: initialState(params), version: 0, nResponses: 0, nCorrect: 0 }, history);
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
      o.onBatch(rows);
    });
    // A failure surfaces at the next drain; keep it from counting as unhandled meanwhile.
    written.catch(() => {});
    inflight.push(written);
  }
  await drain(0);
}
