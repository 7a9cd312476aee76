/**
 * PostgreSQL array literals for bulk statements (`unnest($1::uuid[], ...)`): one text parameter per column instead of
 * one per value, which both drivers pass as-is. Floats use JavaScript's shortest round-trip form, which float8 parses
 * back exactly. Only values that need no quoting go through here: UUIDs, numbers.
 */
export function uuidArray(values: readonly (string | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : v)).join(',')}}`;
}

export function numberArray(values: ArrayLike<number>): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) out += i === 0 ? String(values[i]) : `,${values[i]}`;
  return `${out}}`;
}
