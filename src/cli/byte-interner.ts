/**
 * Interning CSV fields by their bytes: each distinct id gets an index in order of first appearance, and a string
 * is made once per distinct id, never per row. Keys live in one byte arena with an open-addressing table of their
 * hashes (FNV-1a), so a row costs a hash and a byte comparison; an id equal to the previous row's (a student's rows
 * are contiguous, a concept often repeats) costs the comparison alone.
 */
import { type CsvRecord, fieldText } from './csv-records.js';

const QUOTE = 0x22;
const EMPTY = -1;

/** Ids of one column in order of first appearance. */
export class ByteInterner {
  /** The ids, index by index. */
  readonly ids: string[] = [];
  /**
   * Two spellings with the same text share one index: only invalid UTF-8 makes such a pair (it decodes to U+FFFD;
   * valid UTF-8 and its text determine each other), so only texts holding U+FFFD are kept here, not every id.
   */
  private readonly byText = new Map<string, number>();
  private arena = new Uint8Array(1 << 12);
  private arenaUsed = 0;
  /** Per key: where its bytes start in the arena (keyStart[k + 1] is where they end), its hash and its id. */
  private keyStart = new Uint32Array(257);
  private keyHash = new Uint32Array(256);
  private keyId = new Uint32Array(256);
  private keys = 0;
  /** Open addressing over key numbers; a power of two, at most half full. */
  private slots = new Int32Array(512).fill(EMPTY);
  private last = -1;

  constructor() {
    // Each array is replaced as it grows. Assigned a second time here, the fields are mutable from the start:
    // V8 otherwise treats a field never reassigned as a constant, and drops the optimized code of the readers'
    // loops the first time one grows (then compiles them again).
    this.arena = this.arena.subarray(0);
    this.keyStart = this.keyStart.subarray(0);
    this.keyHash = this.keyHash.subarray(0);
    this.keyId = this.keyId.subarray(0);
    this.slots = this.slots.subarray(0);
  }

  /** The index of field k of r (its text: quotes removed, "" unescaped). */
  get(r: CsvRecord, k: number): number {
    const b = r.bytes;
    const s = r.start[k];
    const e = r.end[k];
    if (r.quoted[k] === 1 && hasQuote(b, s, e)) {
      const text = fieldText(r, k); // "" escapes inside: key on the unescaped bytes
      return this.find(Buffer.from(text), 0, Buffer.byteLength(text), text);
    }
    return this.getBytes(b, s, e);
  }

  /** The index of the id whose bytes are `b[s, e)` (a field without quotes). */
  getBytes(b: Buffer, s: number, e: number): number {
    const last = this.last;
    if (last >= 0) {
      const from = this.keyStart[last];
      if (this.keyStart[last + 1] - from === e - s) {
        const a = this.arena;
        let i = 0;
        while (i < e - s && a[from + i] === b[s + i]) i++;
        if (i === e - s) return this.keyId[last];
      }
    }
    return this.find(b, s, e, null);
  }

  private find(b: Buffer, s: number, e: number, text: string | null): number {
    let h = 0x811c9dc5;
    for (let i = s; i < e; i++) h = Math.imul(h ^ b[i], 0x01000193);
    h >>>= 0;
    const mask = this.slots.length - 1;
    const a = this.arena;
    // The step is taken at the top, so the first probe runs it too (optimized code then has feedback for it).
    for (let slot = (h - 1) & mask; ; ) {
      slot = (slot + 1) & mask;
      const key = this.slots[slot];
      if (key === EMPTY) {
        this.slots[slot] = this.add(b, s, e, h, text ?? b.toString('utf8', s, e));
        this.last = this.keys - 1;
        if (2 * this.keys > this.slots.length) this.rehash();
        return this.keyId[this.keys - 1];
      }
      if (this.keyHash[key] !== h) continue;
      const from = this.keyStart[key];
      if (this.keyStart[key + 1] - from !== e - s) continue;
      let i = 0;
      while (i < e - s && a[from + i] === b[s + i]) i++;
      if (i === e - s) {
        this.last = key;
        return this.keyId[key];
      }
    }
  }

  /** Appends a key; returns its number. */
  private add(b: Uint8Array, s: number, e: number, h: number, text: string): number {
    const key = this.keys++;
    if (key === this.keyHash.length) {
      this.keyStart = grow(this.keyStart, 2 * this.keyStart.length);
      this.keyHash = grow(this.keyHash, 2 * this.keyHash.length);
      this.keyId = grow(this.keyId, 2 * this.keyId.length);
    }
    if (this.arenaUsed + (e - s) > this.arena.length) this.arena = grow(this.arena, 2 * (this.arenaUsed + (e - s)));
    const a = this.arena;
    for (let i = s, at = this.arenaUsed; i < e; i++, at++) a[at] = b[i];
    this.arenaUsed += e - s;
    this.keyStart[key + 1] = this.arenaUsed;
    this.keyHash[key] = h;
    const shared = text.includes('\uFFFD');
    let id = shared ? this.byText.get(text) : undefined;
    if (id === undefined) {
      id = this.ids.length;
      this.ids.push(text);
      if (shared) this.byText.set(text, id);
    }
    this.keyId[key] = id;
    return key;
  }

  private rehash(): void {
    const slots = new Int32Array(2 * this.slots.length).fill(EMPTY);
    const mask = slots.length - 1;
    for (let key = 0; key < this.keys; key++) {
      let slot = this.keyHash[key] & mask;
      while (slots[slot] !== EMPTY) slot = (slot + 1) & mask;
      slots[slot] = key;
    }
    this.slots = slots;
  }
}

function hasQuote(b: Buffer, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (b[i] === QUOTE) return true;
  return false;
}

function grow<T extends Uint8Array | Uint32Array>(a: T, size: number): T {
  const out = new (a.constructor as new (n: number) => T)(size);
  out.set(a);
  return out;
}
