/**
 * CSV output written as bytes into large reused buffers: probabilities in a fixed number of decimals without making
 * a string per value, integers, ASCII words and input bytes copied through. Full buffers go to a sink; a buffer the
 * sink keeps (a stream may still hold it) is never written again, one it has written out is reused.
 */

/** Decimals written for every probability: the value rounded to 10 decimals, exactly as `x.toFixed(10)` gives it. */
export const PROBABILITY_DIGITS = 10;

const SCALE = 1e10; // 10 ** PROBABILITY_DIGITS, exact in binary64
/** x * SCALE is within 2^-19 of the exact product; a fraction this close to one half is settled by toFixed. */
const TIE_WINDOW = 1e-5;
const ZERO = 0x30;
const DOT = 0x2e;
const COMMA = 0x2c;
const LF = 0x0a;
/** "00" to "99" as ASCII byte pairs. */
const PAIRS = Uint8Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? ZERO + Math.floor(i / 20) : ZERO + ((i - 1) / 2) % 10));

/** Where full buffers go: returns true when it keeps `chunk` (a stream), which is then never written again. */
export interface ByteSink {
  writeBytes(chunk: Buffer): boolean;
}

/**
 * Formats `x` as `x.toFixed(10)` would: the decimal with 10 digits after the point nearest to x (the larger one on
 * an exact tie). Used for testing the fast path and as its fallback.
 */
export function formatProbability(x: number): string {
  return x.toFixed(PROBABILITY_DIGITS);
}

/** Appends CSV bytes to a buffer of `size` bytes, handing each full buffer to `sink` and starting a fresh one. */
export class CsvWriter {
  private buf: Buffer;
  private pos = 0;
  /** Bytes handed to the sink so far. */
  written = 0;

  constructor(
    private readonly sink: ByteSink,
    private readonly size = 1 << 20,
  ) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Makes room for `n` more bytes (a row's worth: call once per row, then append without checks). */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(Math.max(n, this.size));
  }

  /** Hands what is buffered to the sink. */
  flush(): void {
    if (this.pos === 0) return;
    const kept = this.sink.writeBytes(this.buf.subarray(0, this.pos));
    this.written += this.pos;
    if (kept || this.buf.length !== this.size) this.buf = Buffer.allocUnsafe(this.size);
    this.pos = 0;
  }

  /** Bytes [from, to) of `src`, as they are (a record's own text keeps its quoting). */
  bytes(src: Uint8Array, from: number, to: number): void {
    const buf = this.buf;
    let p = this.pos;
    if (to - from > 32) {
      buf.set(src.subarray(from, to), p);
      p += to - from;
    } else {
      for (let i = from; i < to; i++) buf[p++] = src[i];
    }
    this.pos = p;
  }

  /** Text that needs no quoting (column names, words); written as UTF-8. */
  text(s: string): void {
    this.reserve(Buffer.byteLength(s));
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  comma(): void {
    this.buf[this.pos++] = COMMA;
  }

  newline(): void {
    this.buf[this.pos++] = LF;
  }

  /** A non-negative integer below 2^32. */
  uint(n: number): void {
    const buf = this.buf;
    let digits = 1;
    for (let v = n; v >= 10; v = (v / 10) >>> 0) digits++;
    let p = this.pos + digits;
    this.pos = p;
    let v = n >>> 0;
    do {
      const q = (v / 10) >>> 0;
      buf[--p] = ZERO + v - q * 10;
      v = q;
    } while (v > 0);
  }

  /** A digit 0-9 (a flag). */
  digit(d: number): void {
    this.buf[this.pos++] = ZERO + d;
  }

  /** A probability in [0, 1] with PROBABILITY_DIGITS decimals, byte for byte `x.toFixed(10)`; 12 bytes. */
  probability(x: number): void {
    const scaled = x * SCALE;
    const whole = Math.floor(scaled);
    const frac = scaled - whole; // exact
    if (!(x >= 0 && x < 1) || Math.abs(frac - 0.5) < TIE_WINDOW) {
      // 1, NaN, out of range, or too near a tie to trust the scaled product: the exact conversion.
      this.ascii(formatProbability(x));
      return;
    }
    let n = frac > 0.5 ? whole + 1 : whole;
    const buf = this.buf;
    let p = this.pos;
    if (n === SCALE) {
      buf[p++] = ZERO + 1;
      n = 0;
    } else {
      buf[p++] = ZERO;
    }
    buf[p++] = DOT;
    // Five pairs of digits, two at a time from a table; every step stays in 32-bit integers.
    let hi = Math.floor(n / 1e5);
    let lo = n - hi * 1e5;
    const qh = (hi / 10) >>> 0;
    const ql = (lo / 10) >>> 0;
    buf[p + 4] = ZERO + hi - qh * 10;
    buf[p + 9] = ZERO + lo - ql * 10;
    hi = qh;
    lo = ql;
    for (let k = 2; k >= 0; k -= 2) {
      const h = hi % 100;
      const l = lo % 100;
      buf[p + k] = PAIRS[2 * h];
      buf[p + k + 1] = PAIRS[2 * h + 1];
      buf[p + 5 + k] = PAIRS[2 * l];
      buf[p + 6 + k] = PAIRS[2 * l + 1];
      hi = (hi - h) / 100;
      lo = (lo - l) / 100;
    }
    this.pos = p + 10;
  }

  private ascii(s: string): void {
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }
}
