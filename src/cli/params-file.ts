/**
 * The params file written by `bkt fit` and read by `predict`, `evaluate` and the service: JSON, snake_case,
 * versioned. It records what was fitted (options, a hash of the input), every concept's parameters, fit statistics
 * and flags, whether the concept uses its own fit or the fallback, and the fallback itself.
 */
import { readFileSync } from 'node:fs';
import { type BktParams, checkParams, checkThreshold, DEFAULT_PARAMS, DEFAULT_THRESHOLD } from '../bkt/index.js';
import { InputError, systemMessage } from './errors.js';

export const PARAMS_SCHEMA_VERSION = 1;

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
export interface ParamsSource {
  /** Where the params came from, for summaries: a file name, or null for the story defaults. */
  readonly file: string | null;
  readonly threshold: number;
  readonly fallback: BktParams;
  readonly fallbackSource: string;
  readonly concepts: ReadonlyMap<string, { readonly params: BktParams; readonly use: 'fitted' | 'fallback' }>;
}

/** The story defaults for every concept (predict without --params). */
export const DEFAULTS_SOURCE: ParamsSource = Object.freeze({
  file: null,
  threshold: DEFAULT_THRESHOLD,
  fallback: DEFAULT_PARAMS,
  fallbackSource: 'defaults',
  concepts: new Map(),
});

/** How a concept is predicted: its own fitted params, the fallback (marked so), or the fallback (absent). */
export function paramsForConcept(
  source: ParamsSource,
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
export function readParamsFile(path: string): ParamsSource {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(path, null, systemMessage(err as NodeJS.ErrnoException));
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const pos = /position (\d+)/.exec(message);
    const line = pos ? lineAt(text, Number(pos[1])) : /end of JSON input/.test(message) ? lineAt(text, text.trimEnd().length) : null;
    throw new InputError(path, line, `not valid JSON (${message.replace(/ in JSON at position \d+.*$/, '')})`);
  }
  const fail = (where: string, problem: string): never => {
    throw new InputError(path, null, `${where}: ${problem}`);
  };
  if (!isObject(json)) throw new InputError(path, 1, 'expected a JSON object (a params file written by `bkt fit`)');
  const version = json.schema_version;
  if (version !== PARAMS_SCHEMA_VERSION) {
    const line = lineOfKey(text, 'schema_version') ?? 1;
    throw new InputError(
      path,
      line,
      version === undefined
        ? 'no schema_version: not a params file written by `bkt fit`'
        : `schema_version ${JSON.stringify(version)} is not supported (this bkt reads version ${PARAMS_SCHEMA_VERSION})`,
    );
  }
  const readParams = (value: unknown, where: string): BktParams => {
    if (!isObject(value)) return fail(where, 'expected an object with prior, learn, guess, slip, forget');
    try {
      return checkParams({
        prior: value.prior as number,
        learn: value.learn as number,
        guess: value.guess as number,
        slip: value.slip as number,
        forget: value.forget as number,
      });
    } catch (err) {
      return fail(where, (err as Error).message);
    }
  };
  let threshold = DEFAULT_THRESHOLD;
  if (isObject(json.options) && json.options.threshold !== undefined) {
    try {
      threshold = checkThreshold(json.options.threshold as number);
    } catch (err) {
      fail('options.threshold', (err as Error).message);
    }
  }
  if (!isObject(json.fallback)) fail('fallback', 'missing: expected { source, params }');
  const fallbackObj = json.fallback as Record<string, unknown>;
  const fallback = readParams(fallbackObj.params, 'fallback.params');
  if (!Array.isArray(json.concepts)) fail('concepts', 'missing: expected an array');
  const concepts = new Map<string, { params: BktParams; use: 'fitted' | 'fallback' }>();
  (json.concepts as unknown[]).forEach((entry, i) => {
    const where = `concepts[${i}]`;
    if (!isObject(entry)) return fail(where, 'expected an object');
    if (typeof entry.concept_id !== 'string') return fail(`${where}.concept_id`, 'expected a string');
    if (entry.use !== 'fitted' && entry.use !== 'fallback') return fail(`${where}.use`, 'expected "fitted" or "fallback"');
    if (concepts.has(entry.concept_id)) return fail(`${where}.concept_id`, `duplicate concept ${JSON.stringify(entry.concept_id)}`);
    concepts.set(entry.concept_id, { params: readParams(entry.params, `${where}.params`), use: entry.use });
  });
  return {
    file: path,
    threshold,
    fallback,
    fallbackSource: typeof fallbackObj.source === 'string' ? fallbackObj.source : 'unknown',
    concepts,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function lineAt(text: string, position: number): number {
  let line = 1;
  for (let i = 0; i < position && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Best effort: the line of the first `"key":` in the text (null when not found). */
function lineOfKey(text: string, key: string): number | null {
  const i = text.indexOf(`"${key}"`);
  return i < 0 ? null : lineAt(text, i);
}
