/**
 * A streaming CSV tokenizer over bytes (RFC 4180: quoted fields with "" escapes and line breaks inside; CRLF, LF or
 * CR line ends; a UTF-8 byte order mark), reporting each record as field boundaries into the bytes read, with the
 * line it starts on. No string is made unless a caller asks for a field's text: the reader of response logs
 * (csv-input.ts) interns ids by comparing bytes, which is why parsing stays at disk speed (docs/benchmarks.md).
 * Also streams a file through it, gunzipping names ending in `.gz`, and hashes the bytes as stored.
 */
import { createReadStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createGunzip } from 'node:zlib';
import { InputError } from './errors.js';

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
/** Longest record kept while waiting for its end: a longer one is not a response log. */
const MAX_RECORD = 64 << 20;
/** Bytes read from the file at a time, into the tokenizer's own buffer. */
const READ_SIZE = 1 << 18;

/**
 * A fast path for plain records (no quotes): `scan` reads as many complete records of `b[pos, n)` as it takes,
 * each one line, and returns where it stopped (`pos` when it takes none); the tokenizer reads the record there, if
 * any, the usual way, then offers the bytes after it again. `line` is the line the record at `pos` starts on.
 */
export interface FastRecords {
  scan(b: Buffer, pos: number, n: number, line: number): number;
  /** Records taken by the last `scan`, one line each. */
  readonly lines: number;
}

/** One record, valid only during the callback: fields k is bytes [start[k], end[k]) of `bytes`. */
export interface CsvRecord {
  bytes: Buffer;
  fields: number;
  readonly start: Int32Array;
  readonly end: Int32Array;
  /** 1 where field k was quoted: its bytes are the content between the quotes, "" escapes still in. */
  readonly quoted: Uint8Array;
  /** Line the record starts on (1-based, counting every line break, blank lines and those inside quotes). */
  line: number;
  /** The record's own bytes, without its line end: [from, to) of `bytes`. */
  from: number;
  to: number;
}

/** The text of field k (quotes removed, "" unescaped). */
export function fieldText(r: CsvRecord, k: number): string {
  const text = r.bytes.toString('utf8', r.start[k], r.end[k]);
  return r.quoted[k] === 1 ? text.replaceAll('""', '"') : text;
}

/** Every field's text. */
export function recordFields(r: CsvRecord): string[] {
  const out = new Array<string>(r.fields);
  for (let k = 0; k < r.fields; k++) out[k] = fieldText(r, k);
  return out;
}

/** Whether field k's bytes equal `bytes[0..length)` (for ids repeated row after row). */
export function fieldEquals(r: CsvRecord, k: number, bytes: Uint8Array, length: number): boolean {
  const s = r.start[k];
  if (r.end[k] - s !== length) return false;
  const b = r.bytes;
  for (let i = 0; i < length; i++) if (b[s + i] !== bytes[i]) return false;
  return true;
}

/**
 * Bytes in, records out. `push` each chunk as it arrives and `end()` at the end of input; records are reported
 * through `onRecord` as soon as they are complete. Blank lines are skipped (they still count as lines).
 * Throws InputError (with `file`) on a quoted field that is never closed or is followed by other text.
 */
export class CsvTokenizer {
  /** The bytes of an incomplete record kept for the next chunk, then room to read into: [0, kept) is in use. */
  private buffer = Buffer.allocUnsafe(READ_SIZE);
  private kept = 0;
  private line = 1;
  private started = false;
  private readonly record: CsvRecord;

  constructor(
    private readonly file: string,
    private readonly onRecord: (r: CsvRecord) => void,
    maxFields = 256,
    private readonly fast: FastRecords | null = null,
  ) {
    this.record = {
      bytes: this.buffer, fields: 0, line: 1, from: 0, to: 0,
      start: new Int32Array(maxFields), end: new Int32Array(maxFields), quoted: new Uint8Array(maxFields),
    };
  }

  /** Reports the records `chunk` completes; the chunk is copied, so its memory may be reused after the call. */
  push(chunk: Uint8Array): void {
    for (let at = 0; at < chunk.length; ) {
      const room = this.room();
      const n = Math.min(room.length, chunk.length - at);
      room.set(chunk.subarray(at, at + n));
      at += n;
      this.filled(n);
    }
  }

  /**
   * Where to read the next bytes to (a file read straight into it, without a chunk of its own): write them from
   * the start of the view returned, then call `filled` with their count. Holds at least READ_SIZE bytes.
   */
  room(): Buffer {
    if (this.buffer.length - this.kept < READ_SIZE) {
      if (this.kept > MAX_RECORD) throw new InputError(this.file, this.line, 'a record longer than 64 MB: is this a CSV file?');
      const bigger = Buffer.allocUnsafe(Math.max(2 * this.buffer.length, this.kept + READ_SIZE));
      this.buffer.copy(bigger, 0, 0, this.kept);
      this.buffer = bigger;
    }
    return this.buffer.subarray(this.kept);
  }

  /** Reports the records completed by the `count` bytes just written to `room()`. */
  filled(count: number): void {
    const end = this.kept + count;
    const used = this.scan(this.buffer, end, false);
    if (used > 0) this.buffer.copyWithin(0, used, end);
    this.kept = end - used;
  }

  end(): void {
    if (this.kept > 0) this.scan(this.buffer, this.kept, true);
    this.kept = 0;
  }

  /** Lines read so far (the line the next record would start on). */
  get nextLine(): number {
    return this.line;
  }

  /** Reports every complete record of `b[0, n)`; returns where the incomplete rest starts (n when `last`). */
  private scan(b: Buffer, n: number, last: boolean): number {
    let pos = 0;
    if (!this.started) {
      if (n < 3 && !last) return 0;
      this.started = true;
      if (n >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) pos = 3;
    }
    this.record.bytes = b;
    const fast = this.fast;
    while (pos < n) {
      if (fast !== null) {
        const taken = fast.scan(b, pos, n, this.line);
        if (taken > pos) {
          this.line += fast.lines; // a line each
          pos = taken;
          if (pos >= n) break;
        }
      }
      const next = this.scanRecord(b, pos, n, last);
      if (next < 0) return pos;
      pos = next;
    }
    return n;
  }

  /**
   * Reads one record from `pos`: reports it (unless blank) and returns where the next starts, or -1 when the
   * bytes end before the record does and more may follow.
   */
  private scanRecord(b: Buffer, pos: number, n: number, last: boolean): number {
    const r = this.record;
    const { start, end, quoted } = r;
    let lines = 0; // line breaks inside quoted fields
    let k = 0;
    let p = pos;
    for (;;) {
      if (k === start.length) this.grow();
      let c = p < n ? b[p] : -1;
      if (c === QUOTE) {
        const linesBefore = lines;
        p++;
        const s = p;
        for (;;) {
          while (p < n && (c = b[p]) !== QUOTE) {
            if (c === LF) lines++;
            else if (c === CR && (p + 1 >= n || b[p + 1] !== LF)) lines++;
            p++;
          }
          if (p >= n) {
            if (!last) return -1;
            throw new InputError(this.file, this.line + linesBefore, 'a quoted field is never closed (a " opens it and no closing " follows)');
          }
          if (p + 1 < n && b[p + 1] === QUOTE) {
            p += 2; // "" inside quotes
            continue;
          }
          if (p + 1 >= n && !last) return -1;
          break;
        }
        r.start[k] = s;
        r.end[k] = p;
        quoted[k] = 1;
        p++; // the closing quote
        c = p < n ? b[p] : -1;
        if (c !== COMMA && c !== LF && c !== CR && c !== -1) {
          throw new InputError(this.file, this.line + lines, `unexpected ${JSON.stringify(String.fromCharCode(c))} after the closing quote of field ${k + 1}`);
        }
      } else {
        const s = p;
        while (c !== COMMA && c !== LF && c !== CR && c !== -1) c = ++p < n ? b[p] : -1;
        start[k] = s;
        end[k] = p;
        quoted[k] = 0;
      }
      k++;
      if (c === COMMA) {
        p++;
        continue;
      }
      // End of the record: a line end, or the end of the bytes.
      if (c === -1 && !last) return -1;
      if (c === CR && p + 1 >= n && !last) return -1; // its LF may be in the next chunk
      const to = p;
      if (c === CR && p + 1 < n && b[p + 1] === LF) p += 2;
      else if (c !== -1) p++;
      const blank = k === 1 && quoted[0] === 0 && end[0] === start[0];
      if (!blank) {
        r.fields = k;
        r.line = this.line;
        r.from = pos;
        r.to = to;
        this.onRecord(r);
      }
      this.line += lines + (c === -1 ? 0 : 1);
      return p;
    }
  }

  private grow(): void {
    const r = this.record as { -readonly [K in keyof CsvRecord]: CsvRecord[K] };
    const size = r.start.length * 2;
    const grown = <T extends Int32Array | Uint8Array>(a: T): T => {
      const out = new (a.constructor as new (n: number) => T)(size);
      out.set(a);
      return out;
    };
    r.start = grown(r.start);
    r.end = grown(r.end);
    r.quoted = grown(r.quoted);
  }
}

/** Called with bytes read so far and the file size (compressed bytes for .gz). */
export type ProgressFn = (bytesRead: number, totalBytes: number) => void;

/**
 * Streams a file's records through `onRecord` (gzip read in place when the name ends in `.gz`); returns the sha256
 * of the file's bytes as stored, and the number of lines. An exception from `onRecord` stops the read and is
 * rethrown.
 */
export async function streamRecords(
  file: string,
  onRecord: (r: CsvRecord) => void,
  progress?: ProgressFn,
  fast: FastRecords | null = null,
): Promise<{ sha256: string; lines: number }> {
  const total = statSync(file).size;
  const hash = createHash('sha256');
  const tokenizer = new CsvTokenizer(file, onRecord, 256, fast);
  if (!file.endsWith('.gz')) {
    // Read straight into the tokenizer's buffer: no chunk per read, no copy, no garbage.
    const handle = await open(file, 'r');
    try {
      for (let bytes = 0; ; ) {
        const room = tokenizer.room();
        const { bytesRead } = await handle.read(room, 0, room.length, null);
        if (bytesRead === 0) break;
        hash.update(room.subarray(0, bytesRead));
        bytes += bytesRead;
        tokenizer.filled(bytesRead);
        progress?.(bytes, total); // after the records of these bytes
      }
      tokenizer.end();
    } finally {
      await handle.close();
    }
    return { sha256: hash.digest('hex'), lines: tokenizer.nextLine };
  }
  const raw = createReadStream(file, { highWaterMark: 1 << 16 });
  let bytes = 0;
  const gunzip = createGunzip({ chunkSize: 1 << 18 });
  try {
    raw.on('data', (chunk) => {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      progress?.(bytes, total);
    });
    raw.on('error', (err) => gunzip.destroy(err));
    raw.pipe(gunzip);
    try {
      for await (const chunk of gunzip) tokenizer.push(chunk as Buffer);
    } catch (err) {
      // zlib's errors carry codes Z_DATA_ERROR, Z_BUF_ERROR (truncated), ...; others are the file's or ours.
      if (!String((err as NodeJS.ErrnoException).code ?? '').startsWith('Z_')) throw err;
      throw new InputError(file, null, `not a valid gzip file (${(err as Error).message})`);
    }
    tokenizer.end();
  } finally {
    raw.destroy();
    gunzip.destroy();
  }
  return { sha256: hash.digest('hex'), lines: tokenizer.nextLine };
}
