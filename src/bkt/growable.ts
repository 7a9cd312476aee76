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

  /** A copy of exactly the values pushed. */
  done(): T {
    return this.data.slice(0, this.length) as T;
  }
}
