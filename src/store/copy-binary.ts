/**
 * PostgreSQL's binary COPY format, for bulk loads (`COPY ... FROM STDIN (FORMAT binary)`): the server stores the
 * values as sent, with no text to parse (a float8 is its 8 bytes, a uuid its 16), which is most of the cost of a
 * text COPY or of `unnest` over array literals. The format is fixed and small (see "Binary Format" in the COPY
 * chapter of the PostgreSQL manual): a signature and two zero words, then per row a field count and per field a
 * length and the value in network byte order, then -1.
 *
 * Only the types the bulk writers need are here: uuid, int4, int8, float8, bool, text and NULL.
 */

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

const HEX: Record<string, number> = Object.fromEntries(
  [...'0123456789abcdef'].flatMap((c, i) => [
    [c, i],
    [c.toUpperCase(), i],
  ]),
);

/** Writes `uuid` (text form, hyphens anywhere or none) as 16 bytes at `out[at..]`. */
export function uuidBytes(uuid: string, out: Uint8Array, at: number): void {
  let n = 0;
  for (let i = 0; i < uuid.length && n < 32; i++) {
    const c = uuid[i];
    if (c === '-') continue;
    const v = HEX[c];
    if (v === undefined) throw new TypeError(`not a UUID: ${JSON.stringify(uuid)}`);
    if ((n & 1) === 0) out[at + (n >> 1)] = v << 4;
    else out[at + (n >> 1)] |= v;
    n++;
  }
  if (n !== 32 || uuid.replaceAll('-', '').length !== 32) throw new TypeError(`not a UUID: ${JSON.stringify(uuid)}`);
}

/** A binary COPY stream being built in memory. Call `row(n)`, then exactly n field writers, for every row. */
export class BinaryCopyWriter {
  private buf: Buffer;
  private at = 0;

  /** `bytesHint`: the expected size, to avoid regrowing. */
  constructor(bytesHint = 1 << 16) {
    this.buf = Buffer.allocUnsafe(Math.max(64, bytesHint));
    SIGNATURE.copy(this.buf, 0);
    this.buf.writeInt32BE(0, 11); // flags: no OIDs
    this.buf.writeInt32BE(0, 15); // header extension length
    this.at = 19;
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }

  row(fields: number): this {
    this.room(2);
    this.buf.writeInt16BE(fields, this.at);
    this.at += 2;
    return this;
  }

  /** A uuid from its text form. */
  uuid(text: string): this {
    this.room(20);
    this.buf.writeInt32BE(16, this.at);
    uuidBytes(text, this.buf, this.at + 4);
    this.at += 20;
    return this;
  }

  /** A uuid from 16 bytes of `bytes` at `offset`. */
  uuidFrom(bytes: Uint8Array, offset: number): this {
    this.room(20);
    this.buf.writeInt32BE(16, this.at);
    this.buf.set(bytes.subarray(offset, offset + 16), this.at + 4);
    this.at += 20;
    return this;
  }

  int4(v: number): this {
    this.room(8);
    this.buf.writeInt32BE(4, this.at);
    this.buf.writeInt32BE(v, this.at + 4);
    this.at += 8;
    return this;
  }

  int8(v: number | bigint): this {
    this.room(12);
    this.buf.writeInt32BE(8, this.at);
    this.buf.writeBigInt64BE(BigInt(v), this.at + 4);
    this.at += 12;
    return this;
  }

  float8(v: number): this {
    this.room(12);
    this.buf.writeInt32BE(8, this.at);
    this.buf.writeDoubleBE(v, this.at + 4);
    this.at += 12;
    return this;
  }

  bool(v: boolean): this {
    this.room(5);
    this.buf.writeInt32BE(1, this.at);
    this.buf[this.at + 4] = v ? 1 : 0;
    this.at += 5;
    return this;
  }

  /** A text value (UTF-8, as the binary format sends text). */
  text(v: string): this {
    const n = Buffer.byteLength(v, 'utf8');
    this.room(4 + n);
    this.buf.writeInt32BE(n, this.at);
    this.buf.write(v, this.at + 4, 'utf8');
    this.at += 4 + n;
    return this;
  }

  null(): this {
    this.room(4);
    this.buf.writeInt32BE(-1, this.at);
    this.at += 4;
    return this;
  }

  /** The whole stream, trailer included. The writer must not be used afterwards. */
  finish(): Uint8Array {
    this.room(2);
    this.buf.writeInt16BE(-1, this.at);
    this.at += 2;
    return this.buf.subarray(0, this.at);
  }
}
