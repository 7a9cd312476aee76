/**
 * --multigs, --multilearn and --multiprior: the columns of the model variants (pyBKT's names), how their values are
 * read from a response log, and, for predict and evaluate, how they default to the params file's.
 */
import { type Command, Option } from 'commander';
import type { DatasetFit, RowValues, VariantKind, VariantRows } from '../bkt/index.js';
import type { ResponseLog } from './csv-input.js';
import { InputError, UsageError } from './errors.js';
import type { LoadedParams, VariantColumnNames } from './params-file.js';

export interface VariantCliOptions {
  multigs?: string;
  multilearn?: string;
  multiprior?: string;
}

/** Each variant's option name. */
export const VARIANT_OPTION: Readonly<Record<VariantKind, 'multigs' | 'multilearn' | 'multiprior'>> = {
  guessSlip: 'multigs',
  learn: 'multilearn',
  prior: 'multiprior',
};

const KINDS: readonly VariantKind[] = ['guessSlip', 'learn', 'prior'];

/** What each variant fits, for help texts. */
const WHAT: Readonly<Record<VariantKind, string>> = {
  guessSlip: 'guess and slip per value of this column within each concept (KT-IDEM: per item or template)',
  learn: 'learn (and forget, with --fit-forget) per value of this column: the transition after a row of that value',
  prior: "prior per value of this column, taken at each student's first row of the concept (e.g. per class)",
};

/** The three options; for predict and evaluate they rename a column the params file's options name. */
export function addVariantOptions(cmd: Command, fitting: boolean): Command {
  for (const kind of KINDS) {
    const help = fitting
      ? `fit ${WHAT[kind]} (default: none)`
      : `column holding the values of the params file's ${VARIANT_OPTION[kind]} variant (default: the column it was fitted with)`;
    cmd.addOption(new Option(`--${VARIANT_OPTION[kind]} <column>`, help));
  }
  return cmd;
}

/** The variants' columns given on the command line (fit and cv). */
export function variantColumnsFrom(o: VariantCliOptions): VariantColumnNames {
  return { guessSlip: o.multigs ?? null, learn: o.multilearn ?? null, prior: o.multiprior ?? null };
}

/**
 * For predict and evaluate: the params file's variant columns, each renamed by its option when given. An option
 * for a variant the file was not fitted with is a usage error.
 */
export function variantColumnsFor(source: LoadedParams, o: VariantCliOptions): VariantColumnNames {
  const out: Record<VariantKind, string | null> = { guessSlip: null, learn: null, prior: null };
  for (const kind of KINDS) {
    const given = o[VARIANT_OPTION[kind]];
    const fitted = source.variants?.[kind] ?? null;
    if (given !== undefined && fitted === null) {
      throw new UsageError(
        `--${VARIANT_OPTION[kind]} ${given}: the params file ${source.file === null ? '(none: the story defaults)' : source.file} ` +
          `was not fitted with --${VARIANT_OPTION[kind]}, so it has no per-value parameters to apply`,
      );
    }
    out[kind] = given ?? fitted;
  }
  return out;
}

/** The params file's options for the variants: multigs, multilearn, multiprior (a column or null). */
export function variantOptionsJson(v: VariantColumnNames) {
  return { multigs: v.guessSlip, multilearn: v.learn, multiprior: v.prior };
}

/** The columns to read beside the standard ones, each with the option that names it. */
export function variantColumnList(v: VariantColumnNames): { column: string; option: string }[] {
  return KINDS.filter((k) => v[k] !== null).map((k) => ({ column: v[k]!, option: `--${VARIANT_OPTION[k]}` }));
}

/**
 * The variants' values of a log read with `variantColumnList(v)` among its extra columns. When fitting, every row
 * needs a value: an empty cell is an InputError naming its line (predictions give such a row the concept's own).
 */
export function variantRows(file: string, log: ResponseLog, v: VariantColumnNames, fitting: boolean): VariantRows | undefined {
  const out: { [K in VariantKind]?: RowValues } = {};
  for (const kind of KINDS) {
    const column = v[kind];
    if (column === null) continue;
    const values = log.extra.get(column);
    if (values === undefined) throw new Error(`column ${column} was not read`); // read-log reports a missing column first
    if (fitting) checkNoEmpty(file, log, column, kind, values);
    out[kind] = { column, ids: values.ids, codes: values.codes };
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function checkNoEmpty(file: string, log: ResponseLog, column: string, kind: VariantKind, values: { ids: readonly string[]; codes: Uint32Array }): void {
  const empty = values.ids.indexOf('');
  if (empty < 0) return;
  const row = values.codes.indexOf(empty);
  throw new InputError(
    file,
    log.lineOf[row],
    `empty ${column}: --${VARIANT_OPTION[kind]} ${column} needs a value on every row to fit (fill it, or drop the row)`,
  );
}

const FITTED: Readonly<Record<VariantKind, string>> = { guessSlip: 'guess and slip', learn: 'learn and forget', prior: 'prior' };

/** `bkt fit`'s line about the variants: what was fitted per value of which column, and how many values in all. */
export function variantFitText(fit: DatasetFit): string {
  const parts: string[] = [];
  for (const kind of KINDS) {
    let column: string | null = null;
    let values = 0;
    for (const c of fit.concepts) {
      const entry = c.perValue?.[kind];
      if (entry === undefined) continue;
      column = entry.column;
      values += entry.values.length;
    }
    if (column !== null) parts.push(`${FITTED[kind]} per ${column} (${values.toLocaleString('en-US')} (concept, value) pairs)`);
  }
  return parts.length === 0 ? '' : `  per value: ${parts.join('; ')}; the pooled fallback is standard BKT\n`;
}
