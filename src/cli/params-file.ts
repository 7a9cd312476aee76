/**
 * The params file written by `bkt fit` and read by `predict`, `evaluate` and the service: JSON, snake_case,
 * versioned. It records what was fitted (options, a hash of the input), every concept's parameters, fit statistics
 * and flags, whether the concept uses its own fit or the fallback, and the fallback itself.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Jsonc from 'jsonc-parser';
import type { JSONPath, ParseError } from 'jsonc-parser';
import { type BktParams, checkParams, checkThreshold, DEFAULT_PARAMS, DEFAULT_THRESHOLD, type PerValueParams } from '../bkt/index.js';
import { InputError, systemMessage } from './errors.js';
import { readPerValue } from './params-per-value.js';

/** The version `bkt fit` writes: 2 adds the variants' columns (options) and per-value parameters (per concept). */
export const PARAMS_SCHEMA_VERSION = 2;
/** The versions readers accept. */
export const READABLE_SCHEMA_VERSIONS: readonly number[] = [1, 2];

/** The columns of the model variants a params file was fitted with (null: not fitted). */
export interface VariantColumnNames {
  readonly guessSlip: string | null;
  readonly learn: string | null;
  readonly prior: string | null;
}

export const NO_VARIANT_COLUMNS: VariantColumnNames = Object.freeze({ guessSlip: null, learn: null, prior: null });

/** A concept of a loaded params file: its own parameters, whether it uses them, and its per-value parameters. */
export interface LoadedConcept {
  readonly params: BktParams;
  readonly use: 'fitted' | 'fallback';
  /** Present when the file was fitted with variants (schema_version 2). */
  readonly perValue?: PerValueParams;
}

/** jsonc-parser, loaded by the first read: `bkt fit` only writes params files (start-up time and memory). */
let jsoncParser: typeof Jsonc | null = null;
function jsonc(): typeof Jsonc {
  jsoncParser ??= createRequire(import.meta.url)('jsonc-parser') as typeof Jsonc;
  return jsoncParser;
}

export interface ParamsFileConcept {
  readonly concept_id: string;
  /** 'fitted': predictions use `params`; 'fallback': they use the file's fallback (see `flags`). */
  readonly use: 'fitted' | 'fallback';
  readonly params: BktParams;
  readonly [stat: string]: unknown;
}

export interface ParamsFile {
  readonly schema_version: number;
  readonly generator: string;
  readonly input: { readonly file: string; readonly sha256: string; readonly [k: string]: unknown };
  readonly options: { readonly threshold: number; readonly [k: string]: unknown };
  readonly fallback: { readonly source: string; readonly params: BktParams; readonly [k: string]: unknown };
  readonly totals: Readonly<Record<string, unknown>>;
  readonly concepts: readonly ParamsFileConcept[];
}

/** What predict and evaluate need from a params file. */
export interface LoadedParams {
  /** Where the params came from, for summaries: a file name, or null for the story defaults. */
  readonly file: string | null;
  readonly threshold: number;
  readonly fallback: BktParams;
  readonly fallbackSource: string;
  readonly concepts: ReadonlyMap<string, LoadedConcept>;
  /** The variants' columns from the file's options (absent: none, standard BKT). */
  readonly variants?: VariantColumnNames;
}

/** The story defaults for every concept (predict without --params). */
export const DEFAULTS_SOURCE: LoadedParams = Object.freeze({
  file: null,
  threshold: DEFAULT_THRESHOLD,
  fallback: DEFAULT_PARAMS,
  fallbackSource: 'defaults',
  concepts: new Map(),
  variants: NO_VARIANT_COLUMNS,
});

/** How a concept is predicted: its own fitted params, the fallback (marked so), or the fallback (absent). */
export function paramsForConcept(
  source: LoadedParams,
  conceptId: string,
): { params: BktParams; how: 'fitted' | 'fallback' | 'absent' } {
  const entry = source.concepts.get(conceptId);
  if (entry === undefined) return { params: source.fallback, how: source.file === null ? 'fitted' : 'absent' };
  return entry.use === 'fitted' ? { params: entry.params, how: 'fitted' } : { params: source.fallback, how: 'fallback' };
}

/** Serialises a params file: stable key order, two-space indent, trailing newline (byte-identical for equal input). */
export function formatParamsFile(file: ParamsFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** Reads and checks a params file; every problem is an InputError naming the file (and line where it has one). */
export function readParamsFile(path: string): LoadedParams {
  const { text, json } = readJsonFile(path);
  // Where a field is in the text, for messages that name its line (jsonc-parser keeps offsets; JSON.parse does not).
  const { parseTree, findNodeAtLocation } = jsonc();
  const tree = parseTree(text);
  const lineOfPath = (at: JSONPath): number => {
    for (let n = at.length; n >= 0 && tree; n--) {
      const node = findNodeAtLocation(tree, at.slice(0, n));
      if (node) return lineAt(text, node.offset);
    }
    return 1;
  };
  const fail = (where: string, at: JSONPath, problem: string): never => {
    throw new InputError(path, lineOfPath(at), `${where}: ${problem}`);
  };
  if (!isObject(json)) throw new InputError(path, 1, 'expected a JSON object (a params file written by `bkt fit`)');
  const version = json.schema_version;
  if (!READABLE_SCHEMA_VERSIONS.includes(version as number)) {
    const line = lineOfPath(['schema_version']);
    throw new InputError(
      path,
      line,
      version === undefined
        ? 'no schema_version: not a params file written by `bkt fit`'
        : `schema_version ${JSON.stringify(version)} is not supported (this bkt reads versions ${READABLE_SCHEMA_VERSIONS.join(' and ')})`,
    );
  }
  const readParams = (value: unknown, where: string, at: JSONPath): BktParams => paramsAt(value, where, at, fail);
  let threshold = DEFAULT_THRESHOLD;
  if (isObject(json.options) && json.options.threshold !== undefined) {
    try {
      threshold = checkThreshold(json.options.threshold as number);
    } catch (err) {
      fail('options.threshold', ['options', 'threshold'], (err as Error).message);
    }
  }
  if (!isObject(json.fallback)) fail('fallback', ['fallback'], 'missing: expected { source, params }');
  const fallbackObj = json.fallback as Record<string, unknown>;
  const fallback = readParams(fallbackObj.params, 'fallback.params', ['fallback', 'params']);
  if (!Array.isArray(json.concepts)) fail('concepts', ['concepts'], 'missing: expected an array');
  const variants = version === 1 ? NO_VARIANT_COLUMNS : readVariantColumns(json.options, fail);
  const concepts = new Map<string, LoadedConcept>();
  (json.concepts as unknown[]).forEach((entry, i) => {
    const where = `concepts[${i}]`;
    if (!isObject(entry)) return fail(where, ['concepts', i], 'expected an object');
    if (typeof entry.concept_id !== 'string') return fail(`${where}.concept_id`, ['concepts', i, 'concept_id'], 'expected a string');
    if (entry.use !== 'fitted' && entry.use !== 'fallback') return fail(`${where}.use`, ['concepts', i, 'use'], 'expected "fitted" or "fallback"');
    if (concepts.has(entry.concept_id)) return fail(`${where}.concept_id`, ['concepts', i, 'concept_id'], `duplicate concept ${JSON.stringify(entry.concept_id)}`);
    const params = readParams(entry.params, `${where}.params`, ['concepts', i, 'params']);
    if (version === 1 || entry.per_value === undefined) return concepts.set(entry.concept_id, { params, use: entry.use });
    const perValue = readPerValue(entry.per_value, `${where}.per_value`, ['concepts', i, 'per_value'], fail);
    checkColumns(perValue, variants, `${where}.per_value`, ['concepts', i, 'per_value'], fail);
    concepts.set(entry.concept_id, { params, use: entry.use, perValue });
  });
  return {
    file: path,
    threshold,
    fallback,
    fallbackSource: typeof fallbackObj.source === 'string' ? fallbackObj.source : 'unknown',
    concepts,
    variants,
  };
}

type Fail = (where: string, at: JSONPath, problem: string) => never;

/** A file's text and its JSON; an unreadable file or a syntax error is an InputError (with the line for the latter). */
function readJsonFile(path: string): { text: string; json: unknown } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(path, null, systemMessage(err as NodeJS.ErrnoException));
  }
  try {
    return { text, json: JSON.parse(text) };
  } catch (err) {
    const message = (err as Error).message.replace(/ in JSON at position \d+.*$/, '').replace(/, ".*" is not valid JSON$/s, '');
    throw new InputError(path, syntaxErrorLine(text), `not valid JSON (${message})`);
  }
}

/** One { prior, learn, guess, slip, forget } object, checked by the core; a bad value fails at its own line. */
function paramsAt(value: unknown, where: string, at: JSONPath, fail: Fail): BktParams {
  if (!isObject(value)) return fail(where, at, 'expected an object with prior, learn, guess, slip, forget');
  try {
    return checkParams({
      prior: value.prior as number,
      learn: value.learn as number,
      guess: value.guess as number,
      slip: value.slip as number,
      forget: value.forget as number,
    });
  } catch (err) {
    const message = (err as Error).message;
    // The core's RangeError starts with the parameter's name: point at its line.
    const name = /^(prior|learn|guess|slip|forget)\b/.exec(message)?.[1];
    return fail(where, name ? [...at, name] : at, message);
  }
}

const OPTION_OF = { guessSlip: 'multigs', learn: 'multilearn', prior: 'multiprior' } as const;

/** options.multigs, options.multilearn, options.multiprior: a column name or null (absent = null). */
function readVariantColumns(options: unknown, fail: Fail): VariantColumnNames {
  const o = isObject(options) ? options : {};
  const read = (kind: keyof typeof OPTION_OF): string | null => {
    const name = OPTION_OF[kind];
    const v = o[name];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string' || v === '') fail(`options.${name}`, ['options', name], 'expected a column name or null');
    return v as string;
  };
  return { guessSlip: read('guessSlip'), learn: read('learn'), prior: read('prior') };
}

/** A concept's per-value entries must be for the variants (and columns) the options name. */
function checkColumns(p: PerValueParams, v: VariantColumnNames, where: string, at: JSONPath, fail: Fail): void {
  for (const kind of ['guessSlip', 'learn', 'prior'] as const) {
    const entry = p[kind];
    if (entry !== undefined && entry.column !== v[kind]) {
      const key = kind === 'guessSlip' ? 'guess_slip' : kind;
      fail(`${where}.${key}.column`, [...at, key, 'column'], `column ${JSON.stringify(entry.column)} differs from options.${OPTION_OF[kind]} (${JSON.stringify(v[kind])})`);
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The line of the first syntax error (jsonc-parser, strict: no comments, no trailing commas), else the last line. */
function syntaxErrorLine(text: string): number {
  const errors: ParseError[] = [];
  jsonc().parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  return lineAt(text, errors.length > 0 ? errors[0].offset : text.trimEnd().length);
}

function lineAt(text: string, position: number): number {
  let line = 1;
  for (let i = 0; i < position && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
