/**
 * The `per_value` entry of a params file (schema_version 2): the per-value parameters of the model variants, as
 * `bkt fit` writes them and as every reader checks them. Values are strings, sorted, each listed once.
 */
import type { JSONPath } from 'jsonc-parser';
import type { GuessSlipValue, LearnValue, PerValueParams, PriorValue } from '../bkt/index.js';

/** `per_value` as written: snake_case keys of the variants fitted. */
export interface PerValueJson {
  readonly guess_slip?: { readonly column: string; readonly values: readonly GuessSlipValue[] };
  readonly learn?: { readonly column: string; readonly values: readonly LearnValue[] };
  readonly prior?: { readonly column: string; readonly values: readonly PriorValue[] };
}

/** The core's per-value parameters in the file's shape. */
export function perValueJson(p: PerValueParams): PerValueJson {
  return {
    ...(p.guessSlip ? { guess_slip: p.guessSlip } : {}),
    ...(p.learn ? { learn: p.learn } : {}),
    ...(p.prior ? { prior: p.prior } : {}),
  };
}

/** Throws with the field's path (for its line) and the problem. */
export type Fail = (where: string, at: JSONPath, problem: string) => never;

/** Each variant's key in the file, its parameters (open range or closed) and the name of its count. */
const LAYOUT = [
  { key: 'guess_slip', kind: 'guessSlip', params: [['guess', true], ['slip', true]], count: 'rows' },
  { key: 'learn', kind: 'learn', params: [['learn', false], ['forget', false]], count: 'rows' },
  { key: 'prior', kind: 'prior', params: [['prior', false]], count: 'sequences' },
] as const;

/** The file's per-value variant keys. */
export const PER_VALUE_KEYS = LAYOUT.map((l) => l.key);

/** Reads and checks a concept's `per_value` (at `at`, named `where` in messages). */
export function readPerValue(value: unknown, where: string, at: JSONPath, fail: Fail): PerValueParams {
  if (!isObject(value)) return fail(where, at, `expected an object with ${PER_VALUE_KEYS.join(', ')} (each optional)`);
  for (const key of Object.keys(value)) {
    if (!(PER_VALUE_KEYS as readonly string[]).includes(key)) fail(`${where}.${key}`, [...at, key], `unknown variant (expected ${PER_VALUE_KEYS.join(', ')})`);
  }
  const out: Record<string, unknown> = {};
  for (const l of LAYOUT) {
    const entry = value[l.key];
    if (entry === undefined) continue;
    const w = `${where}.${l.key}`;
    const a = [...at, l.key];
    if (!isObject(entry)) fail(w, a, 'expected { column, values }');
    const e = entry as Record<string, unknown>;
    if (typeof e.column !== 'string' || e.column === '') fail(`${w}.column`, [...a, 'column'], 'expected a column name');
    if (!Array.isArray(e.values)) fail(`${w}.values`, [...a, 'values'], 'expected an array');
    const values = (e.values as unknown[]).map((v, i) => readValue(v, l, `${w}.values[${i}]`, [...a, 'values', i], fail));
    for (let i = 1; i < values.length; i++) {
      if (!(values[i - 1].value < values[i].value)) {
        fail(`${w}.values[${i}].value`, [...a, 'values', i, 'value'], `values must be sorted and distinct: ${JSON.stringify(values[i].value)} after ${JSON.stringify(values[i - 1].value)}`);
      }
    }
    out[l.kind] = { column: e.column, values };
  }
  return out as PerValueParams;
}

function readValue(v: unknown, l: (typeof LAYOUT)[number], where: string, at: JSONPath, fail: Fail): { value: string } & Record<string, unknown> {
  if (!isObject(v)) return fail(where, at, `expected { value, ${l.params.map((p) => p[0]).join(', ')}, ${l.count} }`);
  if (typeof v.value !== 'string' || v.value === '') fail(`${where}.value`, [...at, 'value'], 'expected a non-empty string');
  const out: Record<string, unknown> = { value: v.value };
  for (const [name, open] of l.params) {
    const x = v[name];
    const ok = typeof x === 'number' && (open ? x > 0 && x < 1 : x >= 0 && x <= 1);
    if (!ok) fail(`${where}.${name}`, [...at, name], `must be a number ${open ? 'strictly between 0 and 1' : 'between 0 and 1'}, got ${JSON.stringify(x)}`);
    out[name] = x;
  }
  const n = v[l.count];
  if (!(typeof n === 'number' && Number.isInteger(n) && n >= 0)) fail(`${where}.${l.count}`, [...at, l.count], `expected an integer >= 0, got ${JSON.stringify(n)}`);
  out[l.count] = n;
  return out as { value: string } & Record<string, unknown>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
