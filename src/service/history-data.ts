/**
 * Builds the core's grouped `ResponseData` from history read in (concept, student, seq) order, page by page. That
 * order is already the core's grouping (concept, then student, each sequence in time order), so rows are appended
 * as they come: one byte per answer and a few per sequence, never an object per row.
 */
import { type ResponseData, type VariantData, type VariantKind } from '../bkt/index.js';
import { GrowableArray } from '../bkt/growable.js';
import { indexVariantColumn } from '../bkt/variants.js';
import type { FitHistoryPage } from './fit-ports.js';

/** The name the item column has in fitted per-value parameters. */
export const ITEM_COLUMN = 'item_id';

/** Accumulates pages; concepts with fewer than `minResponses` rows are dropped as soon as they end. */
export class HistoryDataBuilder {
  private readonly responses = new GrowableArray(new Uint8Array(1 << 16));
  private readonly offsets = new GrowableArray(new Uint32Array(1 << 12));
  private readonly seqStudent = new GrowableArray(new Uint32Array(1 << 12));
  private readonly conceptSeqs: number[] = [0];
  private readonly conceptIds: string[] = [];
  private readonly studentIds: string[] = [];
  private readonly studentIndex = new Map<string, number>();
  /** With `byItem`: each row's item as a code into `itemIds` ('' for a row without one). */
  private readonly itemCodes = new GrowableArray(new Uint32Array(1 << 16));
  private readonly itemIds: string[] = [];
  private readonly itemIndex = new Map<string, number>();
  private currentConcept: string | null = null;
  private currentStudent: string | null = null;
  /** Concepts dropped for too few rows, with their row and student counts. */
  readonly dropped = new Map<string, { rows: number; students: number }>();
  rows = 0;

  /** `byItem`: the variants fitted per item (the pages then carry item ids). */
  constructor(
    private readonly minResponses: number,
    private readonly byItem: readonly VariantKind[] = [],
  ) {
    this.offsets.push(0);
  }

  private itemCode(id: string | null): number {
    const key = id ?? '';
    let k = this.itemIndex.get(key);
    if (k === undefined) {
      k = this.itemIds.length;
      this.itemIndex.set(key, k);
      this.itemIds.push(key);
    }
    return k;
  }

  add(page: FitHistoryPage): void {
    const { conceptIds, studentIds, correct } = page;
    for (let i = 0; i < correct.length; i++) {
      const c = conceptIds[i];
      const s = studentIds[i];
      if (c !== this.currentConcept) {
        this.endConcept();
        this.currentConcept = c;
        this.currentStudent = null;
        this.conceptIds.push(c);
      }
      if (s !== this.currentStudent) {
        if (this.currentStudent !== null) this.offsets.push(this.responses.length);
        this.currentStudent = s;
        let k = this.studentIndex.get(s);
        if (k === undefined) {
          k = this.studentIds.length;
          this.studentIndex.set(s, k);
          this.studentIds.push(s);
        }
        this.seqStudent.push(k);
      }
      this.responses.push(correct[i] ? 1 : 0);
      if (this.byItem.length > 0) this.itemCodes.push(this.itemCode(page.itemIds![i]));
      this.rows++;
    }
  }

  private endConcept(): void {
    if (this.currentConcept === null) return;
    if (this.currentStudent !== null) this.offsets.push(this.responses.length);
    const firstSeq = this.conceptSeqs[this.conceptSeqs.length - 1];
    const lastSeq = this.seqStudent.length;
    const rows = this.responses.length - this.offsetAt(firstSeq);
    if (rows < this.minResponses) {
      // Too few answers to fit: forget the concept's rows and sequences.
      this.dropped.set(this.currentConcept, { rows, students: lastSeq - firstSeq });
      this.responses.truncate(this.offsetAt(firstSeq));
      if (this.byItem.length > 0) this.itemCodes.truncate(this.offsetAt(firstSeq));
      this.offsets.truncate(firstSeq + 1);
      this.seqStudent.truncate(firstSeq);
      this.conceptIds.pop();
    } else {
      this.conceptSeqs.push(lastSeq);
    }
    this.currentConcept = null;
    this.currentStudent = null;
  }

  /** Where sequence `seq` starts. */
  private offsetAt(seq: number): number {
    return this.offsets.at(seq);
  }

  /** The grouped data set; `rowOf` is the identity (history has no input order). */
  build(): ResponseData {
    this.endConcept();
    const responses = this.responses.done();
    const data: ResponseData = {
      responses,
      offsets: this.offsets.done(),
      conceptSeqs: Uint32Array.from(this.conceptSeqs),
      conceptIds: this.conceptIds,
      seqStudent: this.seqStudent.done(),
      studentIds: this.studentIds,
      rowOf: Uint32Array.from({ length: responses.length }, (_, i) => i),
    };
    if (this.byItem.length === 0) return data;
    const codes = this.itemCodes.done();
    const variants: { [K in VariantKind]?: VariantData[K] } = {};
    for (const kind of this.byItem) variants[kind] = indexVariantColumn(kind, ITEM_COLUMN, this.itemIds, codes, data);
    return { ...data, variants };
  }
}
