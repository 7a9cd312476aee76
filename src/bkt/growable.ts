/**
 * A typed array that grows by doubling: columns built row by row (a CSV being parsed, history pages being read)
 * with no object per row.
 */
export class GrowableArray<T extends Uint8Array | Uint32Array | Float64Array> {
  length = 0;
  constructor(private data: T) {}

  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new (this.data.constructor as new (n: number) => T)(Math.max(1, this.data.length * 2));
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }

  at(i: number): number {
    return this.data[i];
  }

  /** Drops everything from `length` on. */
  truncate(length: number): void {
    this.length = length;
  }

  /** Makes room for at least `capacity` values in all (one copy now instead of several doublings later). */
  reserve(capacity: number): void {
    if (capacity <= this.data.length) return;
    const bigger = new (this.data.constructor as new (n: number) => T)(capacity);
    bigger.set(this.data.subarray(0, this.length));
    this.data = bigger;
  }

  /**
   * The values pushed, without a copy when they fill most of the buffer (a view of it; push no more after), and
   * as a copy otherwise: the slack kept is at most a fifth of the result.
   */
  take(): T {
    return this.length * 5 >= this.data.length * 4 ? (this.data.subarray(0, this.length) as T) : this.done();
  }

  /** A copy of exactly the values pushed. */
  done(): T {
    return this.data.slice(0, this.length) as T;
  }
}
