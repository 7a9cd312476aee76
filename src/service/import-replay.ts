/**
 * The arithmetic of an import, pure: each (student, concept) pair's rows of the log replayed through the core from
 * a starting state into history columns, exactly as the service would have applied them one by one (an answer on an
 * item with its own guess and slip uses them, as a live update does). Pairs starting at the prior of a concept whose
 * answers all use the concept's parameters are traced in one pass per concept beforehand and copied from there.
 */
import { traceMastery, updateMastery, type MasteryState, type ResponseData } from '../bkt/index.js';
import { HistoryColumns, ORIGIN_CODE } from './fit-ports.js';
import type { ResponseIds } from './import-ids.js';
import { forItem, type ResolvedParameters } from './parameters-cache.js';
import type { PairKey, PairWrite } from './ports.js';

/** The item of each input row: `codes[row]` indexes `ids`; an empty cell (the id "") is no item. */
export interface ImportItems {
  readonly ids: readonly string[];
  readonly codes: Uint32Array;
}

/** One (student, concept) pair of the log. */
export interface ImportPair {
  readonly key: PairKey;
  /** Concept index in data. */
  readonly concept: number;
  /** Sequence index in data. */
  readonly seq: number;
  readonly rows: number;
}

/** Where a pair's replay starts: its stored state, or the prior at version 0. */
export interface PairStart {
  readonly state: MasteryState;
  readonly version: number;
  readonly nResponses: number;
  readonly nCorrect: number;
}

export interface ReplaySource {
  readonly data: ResponseData;
  /** The line of each input row (data.rowOf indexes it). */
  readonly lineOf: Uint32Array;
  readonly ids: ResponseIds;
  readonly items?: ImportItems;
  readonly threshold: number;
  /** The parameters of each concept index. */
  readonly parametersOf: (concept: number) => ResolvedParameters;
}

/** Per-row columns and each sequence's final state of the concepts traced from their priors. */
interface Traced {
  readonly pCorrect: Float64Array;
  readonly masteryBefore: Float64Array;
  readonly masteryAfter: Float64Array;
  readonly unknownAfter: Float64Array;
  readonly finalKnown: Float64Array;
  readonly finalUnknown: Float64Array;
  /** 1 for a concept traced here. */
  readonly done: Uint8Array;
}

export class ImportReplay {
  private readonly traced: Traced | undefined;
  /** The code of the empty item id, or -1. */
  private readonly noItem: number;

  /** With `fromPriors`, every pair will start at the prior: the concepts that allow it are traced at once. */
  constructor(
    private readonly src: ReplaySource,
    fromPriors: boolean,
  ) {
    this.noItem = src.items ? src.items.ids.indexOf('') : -1;
    this.traced = fromPriors ? this.traceFromPriors() : undefined;
  }

  /** History columns for `rows` rows of this log. */
  columns(rows: number): HistoryColumns {
    return new HistoryColumns(rows, this.src.items?.ids ?? []);
  }

  /** Replays pair `p` from `start` into `h` (rows of pair `index` of the batch); returns the pair's write. */
  pairRows(p: ImportPair, index: number, start: PairStart, h: HistoryColumns): PairWrite {
    const { data, ids, lineOf, threshold } = this.src;
    const t = this.traced;
    if (t && start.version === 0 && t.done[p.concept] === 1) return this.copyTraced(p, index, h);
    const resolved = this.src.parametersOf(p.concept);
    let state = start.state;
    let nCorrect = start.nCorrect;
    for (let r = data.offsets[p.seq], k = 1; r < data.offsets[p.seq + 1]; r++, k++) {
      const correct = data.responses[r] === 1;
      const item = this.itemCode(r);
      const { params, version, source } = item < 0 ? resolved : forItem(resolved, this.src.items!.ids[item]);
      const u = updateMastery(state, correct, params, threshold);
      state = u.state;
      if (correct) nCorrect++;
      const i = h.length++;
      h.pairOf[i] = index;
      h.seq[i] = start.version + k;
      h.correct[i] = correct ? 1 : 0;
      ids.write(lineOf[data.rowOf[r]], h.responseIds, 16 * i);
      h.masteryBefore[i] = u.masteryBefore;
      h.masteryAfter[i] = u.masteryAfter;
      h.pUnknownAfter[i] = state.unknown;
      h.pCorrect[i] = u.pCorrect;
      h.paramsVersion[i] = version;
      h.paramsSource[i] = ORIGIN_CODE[source];
      h.itemOf[i] = item;
    }
    return this.write(p, start, state, nCorrect, resolved.version);
  }

  /** The item code of grouped row `r`, or -1 for none. */
  private itemCode(r: number): number {
    const items = this.src.items;
    if (!items) return -1;
    const code = items.codes[this.src.data.rowOf[r]];
    return code === this.noItem ? -1 : code;
  }

  /**
   * Traces each concept's sequences from its prior in one pass over the flat arrays (no object per row), except the
   * concepts with item parameters when the log names items: their rows do not all share one set of parameters.
   */
  private traceFromPriors(): Traced {
    const { data, threshold } = this.src;
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
    const done = new Uint8Array(data.conceptIds.length);
    for (let c = 0; c < data.conceptIds.length; c++) {
      const from = data.conceptSeqs[c];
      const to = data.conceptSeqs[c + 1];
      const resolved = this.src.parametersOf(c);
      if (to === from || (this.src.items && resolved.items.size > 0)) continue;
      done[c] = 1;
      // Offsets are row numbers of the whole data set, so the per-row columns are filled in place; the final states
      // are per sequence, so they get this concept's part of their columns.
      traceMastery(resolved.params, { responses: data.responses, offsets: data.offsets.subarray(from, to + 1) }, {
        ...out,
        finalKnown: out.finalKnown.subarray(from, to),
        finalUnknown: out.finalUnknown.subarray(from, to),
      }, threshold);
    }
    return { ...out, done };
  }

  /** A pair's rows from the traced columns (it starts at the prior). */
  private copyTraced(p: ImportPair, index: number, h: HistoryColumns): PairWrite {
    const { data, ids, lineOf } = this.src;
    const t = this.traced!;
    const { version } = this.src.parametersOf(p.concept);
    const sourceCode = version === 0 ? ORIGIN_CODE.default : ORIGIN_CODE.concept;
    let nCorrect = 0;
    for (let r = data.offsets[p.seq], k = 1; r < data.offsets[p.seq + 1]; r++, k++) {
      const i = h.length++;
      const correct = data.responses[r];
      nCorrect += correct;
      h.pairOf[i] = index;
      h.seq[i] = k;
      h.correct[i] = correct;
      ids.write(lineOf[data.rowOf[r]], h.responseIds, 16 * i);
      h.masteryBefore[i] = t.masteryBefore[r];
      h.masteryAfter[i] = t.masteryAfter[r];
      h.pUnknownAfter[i] = t.unknownAfter[r];
      h.pCorrect[i] = t.pCorrect[r];
      h.paramsVersion[i] = version;
      h.paramsSource[i] = sourceCode;
      h.itemOf[i] = this.itemCode(r);
    }
    const state = { known: t.finalKnown[p.seq], unknown: t.finalUnknown[p.seq] };
    return this.write(p, { state, version: 0, nResponses: 0, nCorrect: 0 }, state, nCorrect, version);
  }

  private write(p: ImportPair, start: PairStart, state: MasteryState, nCorrect: number, paramsVersion: number): PairWrite {
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
  }
}
