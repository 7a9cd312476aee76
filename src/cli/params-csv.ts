/**
 * `bkt fit --format csv`: the params file as one tidy table for R and pandas. One row per concept (variant
 * `concept`), one row per value of each per-value variant (`guess_slip`, `learn`, `prior`) right after its concept,
 * and a last row for the file's fallback (variant `fallback`). A parameter a row does not set is left empty (NA).
 * Numbers are written as JSON writes them (the shortest text that reads back as the same double), so the table
 * carries exactly the JSON file's values. The layout is documented in docs/cli-guide.md.
 */
import type { QualityFlags } from '../bkt/index.js';
import { csvField } from './output.js';
import type { ParamsFile, ParamsFileConcept } from './params-file.js';

/** The flag columns, in this order (true/false on concept rows, empty elsewhere). */
export const FLAG_COLUMNS = ['degenerate', 'few_data', 'at_bound', 'mastery_unreachable', 'mastery_slow'] as const satisfies readonly (keyof QualityFlags)[];

/** The table's columns, in this order; new columns are only ever added at the end. */
export const PARAMS_CSV_COLUMNS = [
  'concept_id',
  'variant',
  'column',
  'value',
  'use',
  'prior',
  'learn',
  'guess',
  'slip',
  'forget',
  'rows',
  'students',
  'log_lik',
  'iterations',
  'converged',
  'opportunities_to_mastery',
  ...FLAG_COLUMNS,
] as const;

type Column = (typeof PARAMS_CSV_COLUMNS)[number];
type Row = Partial<Record<Column, string | number | boolean | null>>;

/** The per-value variants of a concept entry (params file version 2), in the order their rows are written. */
export const PER_VALUE_VARIANTS = ['guess_slip', 'learn', 'prior'] as const;
export type PerValueVariant = (typeof PER_VALUE_VARIANTS)[number];

/** The parameters each per-value variant sets on its rows. */
const VARIANT_PARAMS: Readonly<Record<PerValueVariant, readonly Column[]>> = {
  guess_slip: ['guess', 'slip'],
  learn: ['learn', 'forget'],
  prior: ['prior'],
};

interface PerValueEntry {
  readonly column: string;
  readonly values: readonly Readonly<Record<string, unknown>>[];
}

/** The params file as CSV text: header, then rows as described above, each ending in a line feed. */
export function formatParamsCsv(file: ParamsFile): string {
  const lines = [PARAMS_CSV_COLUMNS.join(',')];
  const add = (row: Row) => lines.push(PARAMS_CSV_COLUMNS.map((c) => cell(row[c])).join(','));
  for (const concept of file.concepts) {
    add(conceptRow(concept, 'concept', concept.use));
    const perValue = (concept.per_value ?? {}) as Partial<Record<PerValueVariant, PerValueEntry>>;
    for (const variant of PER_VALUE_VARIANTS) {
      const entry = perValue[variant];
      if (entry === undefined) continue;
      for (const v of entry.values) {
        const row: Row = { concept_id: concept.concept_id, variant, column: entry.column, value: String(v.value), use: concept.use };
        for (const p of VARIANT_PARAMS[variant]) row[p] = v[p] as number | undefined;
        // A prior value is estimated from the first rows of the sequences that start with it: one per student.
        row.rows = (variant === 'prior' ? v.sequences : v.rows) as number | undefined;
        if (variant === 'prior') row.students = v.sequences as number | undefined;
        add(row);
      }
    }
  }
  const pooled = file.fallback.pooled as ParamsFileConcept | null | undefined;
  add({
    ...(pooled ? conceptRow(pooled, 'fallback', file.fallback.source) : { variant: 'fallback', use: file.fallback.source }),
    concept_id: '',
    ...file.fallback.params,
  });
  return `${lines.join('\n')}\n`;
}

function conceptRow(c: ParamsFileConcept, variant: string, use: string): Row {
  const flags = (c.flags ?? {}) as Partial<Record<string, boolean>>;
  const row: Row = {
    concept_id: c.concept_id,
    variant,
    use,
    ...c.params,
    rows: c.responses as number,
    students: c.students as number,
    log_lik: c.log_lik as number,
    iterations: c.iterations as number,
    converged: c.converged as boolean,
    opportunities_to_mastery: c.opportunities_to_mastery as number | null,
  };
  for (const f of FLAG_COLUMNS) row[f] = flags[f];
  return row;
}

function cell(v: string | number | boolean | null | undefined): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return csvField(v);
  return JSON.stringify(v); // numbers as the JSON file has them; true / false
}
