/** Reading and setting per-concept parameters, and reading a student's history for trends. */
import { DEFAULT_PARAMS, makeParams, type BktParams } from '../bkt/index.js';
import { ServiceError } from './errors.js';
import type { HistoryRow, HistoryStore, ParameterStore, StoredParameters } from './fit-ports.js';
import { checkItemId } from './mastery-service.js';
import type { ItemParams } from './ports.js';

/** One item of a PUT: absent and null values are the concept's. */
export interface ItemInput {
  readonly itemId: string;
  readonly guess?: number | null;
  readonly slip?: number | null;
  readonly learn?: number | null;
  readonly forget?: number | null;
}

/**
 * An item's values checked (invalid_input naming the field): guess and slip strictly inside (0, 1) and given together,
 * learn and forget in [0, 1], at least one value.
 */
export function checkItem(it: ItemInput, at: string): ItemParams {
  const value = (name: 'guess' | 'slip' | 'learn' | 'forget', open: boolean): number | null => {
    const v = it[name] ?? null;
    if (v === null) return null;
    const ok = typeof v === 'number' && (open ? v > 0 && v < 1 : v >= 0 && v <= 1);
    if (!ok) {
      const range = open ? 'strictly between 0 and 1' : 'between 0 and 1';
      throw new ServiceError('invalid_input', `${name} must be ${range}, got ${String(v)}`, `${at}${name}`);
    }
    return v;
  };
  const guess = value('guess', true);
  const slip = value('slip', true);
  const learn = value('learn', false);
  const forget = value('forget', false);
  if ((guess === null) !== (slip === null)) {
    const missing = guess === null ? 'guess' : 'slip';
    throw new ServiceError('invalid_input', `${missing} must be given with ${missing === 'guess' ? 'slip' : 'guess'}`, `${at}${missing}`);
  }
  if (guess === null && learn === null && forget === null) {
    throw new ServiceError('invalid_input', 'an item needs guess and slip, learn or forget (it has no value of its own)', `${at}item_id`);
  }
  return { itemId: it.itemId, guess, slip, learn, forget };
}

/** A concept's items at its current version (0 with no items: the concept has no stored parameters). */
export interface ItemsPageView {
  readonly conceptId: string;
  readonly version: number;
  readonly items: ItemParams[];
  readonly nextAfter?: string;
}

export const MAX_PARAMETERS_PAGE = 500;
export const MAX_HISTORY_PAGE = 1000;
export const MAX_ITEMS_PAGE = 1000;
/** Items one PUT may set (the body stays well under the 1 MiB body limit). */
export const MAX_ITEMS_PUT = 10_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function uuid(value: string, field: string): string {
  const v = value.toLowerCase();
  if (!UUID.test(v)) throw new ServiceError('invalid_input', `${field} must be a UUID`, field);
  return v;
}

function pageSize(limit: number | undefined, max: number, fallback: number): number {
  const n = limit ?? fallback;
  if (!(Number.isInteger(n) && n >= 1 && n <= max)) {
    throw new ServiceError('invalid_input', `limit must be an integer from 1 to ${max}`, 'limit');
  }
  return n;
}

/** A concept's parameters: stored, or the defaults (version 0) when the concept has no row. */
export interface ConceptParametersView {
  readonly conceptId: string;
  readonly params: BktParams;
  readonly version: number;
  readonly source: 'stored' | 'defaults';
  readonly fittedAt: string | null;
  readonly sampleSize: number;
  readonly updatedAt: string | null;
}

function view(p: StoredParameters): ConceptParametersView {
  return { ...p, source: 'stored' };
}

export interface HistoryPageView {
  readonly rows: HistoryRow[];
  /** Pass as `after` for the next page; absent on the last page. */
  readonly nextAfter?: string;
}

/** The history cursor: created_at in microseconds, concept and seq, as one opaque URL-safe string. */
function encodeCursor(r: HistoryRow): string {
  return Buffer.from(`${r.createdAtMicros}.${r.conceptId}.${r.seq}`).toString('base64url');
}

function decodeCursor(text: string): { createdAtMicros: string; conceptId: string; seq: number } {
  const parts = Buffer.from(text, 'base64url').toString('utf8').split('.');
  if (parts.length === 3 && /^-?\d{1,19}$/.test(parts[0]) && UUID.test(parts[1]) && /^\d{1,10}$/.test(parts[2])) {
    return { createdAtMicros: parts[0], conceptId: parts[1], seq: Number(parts[2]) };
  }
  throw new ServiceError('invalid_input', 'after must be the next_after of a previous page', 'after');
}

function time(value: string | undefined, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (Number.isNaN(Date.parse(value))) throw new ServiceError('invalid_input', `${field} must be an ISO 8601 date-time`, field);
  return value;
}

export class AdminService {
  constructor(
    private readonly parameters: ParameterStore,
    private readonly history: HistoryStore,
    /** Called after a change, so this instance uses it at once rather than at the next poll. */
    private readonly onParametersChanged: () => Promise<void> = async () => {},
  ) {}

  async getParameters(conceptId: string): Promise<ConceptParametersView> {
    const c = uuid(conceptId, 'concept_id');
    const stored = await this.parameters.readParameters(c);
    if (stored) return view(stored);
    return { conceptId: c, params: DEFAULT_PARAMS, version: 0, source: 'defaults', fittedAt: null, sampleSize: 0, updatedAt: null };
  }

  async listParameters(after: string | undefined, limit?: number): Promise<{ concepts: ConceptParametersView[]; nextAfter?: string }> {
    const a = after === undefined ? undefined : uuid(after, 'after');
    const n = pageSize(limit, MAX_PARAMETERS_PAGE, MAX_PARAMETERS_PAGE);
    const rows = await this.parameters.listParameters(a, n + 1);
    const page = rows.slice(0, n).map(view);
    return { concepts: page, ...(rows.length > n && { nextAfter: page[page.length - 1].conceptId }) };
  }

  /** Sets a concept's parameters by hand: a new version; states continue under them from the next answer. */
  async putParameters(conceptId: string, p: { prior: number; learn: number; guess: number; slip: number; forget?: number }): Promise<ConceptParametersView> {
    const c = uuid(conceptId, 'concept_id');
    let params: BktParams;
    try {
      params = makeParams({ ...p, forget: p.forget ?? 0 });
    } catch (e) {
      if (e instanceof RangeError) throw new ServiceError('invalid_input', e.message, /^(\w+)/.exec(e.message)?.[1] ?? 'body');
      throw e;
    }
    const stored = await this.parameters.putParameters(c, params);
    await this.onParametersChanged();
    return view(stored);
  }

  /** The concept's items with their own guess and slip, by item id. */
  async getItems(conceptId: string, after: string | undefined, limit?: number): Promise<ItemsPageView> {
    const c = uuid(conceptId, 'concept_id');
    const a = after === undefined ? undefined : checkItemId(after, 'after');
    const n = pageSize(limit, MAX_ITEMS_PAGE, MAX_ITEMS_PAGE);
    const { version, items } = await this.parameters.readItems(c, a, n + 1);
    const page = items.slice(0, n);
    return { conceptId: c, version, items: page, ...(items.length > n && { nextAfter: page[page.length - 1].itemId }) };
  }

  /**
   * Sets the concept's items (replacing the previous set) under a new version of its parameters; answers use them
   * from then on. A concept without stored parameters gets the defaults for the rest.
   */
  async putItems(conceptId: string, items: readonly ItemInput[]): Promise<{ conceptId: string; version: number; items: number }> {
    const c = uuid(conceptId, 'concept_id');
    if (items.length > MAX_ITEMS_PUT) {
      throw new ServiceError('invalid_input', `items holds at most ${MAX_ITEMS_PUT} entries, got ${items.length}`, 'items');
    }
    const seen = new Set<string>();
    const checked = items.map((it, i) => {
      checkItemId(it.itemId, `items[${i}].item_id`);
      if (seen.has(it.itemId)) throw new ServiceError('invalid_input', `item_id ${JSON.stringify(it.itemId)} appears twice`, `items[${i}].item_id`);
      seen.add(it.itemId);
      return checkItem(it, `items[${i}].`);
    });
    const version = await this.parameters.putItems(c, checked);
    await this.onParametersChanged();
    return { conceptId: c, version, items: items.length };
  }

  /** A student's answers in time order (created_at), optionally of one concept and within [from, to). */
  async readHistory(input: {
    studentId: string;
    conceptId?: string;
    from?: string;
    to?: string;
    after?: string;
    limit?: number;
  }): Promise<HistoryPageView> {
    const limit = pageSize(input.limit, MAX_HISTORY_PAGE, 100);
    const rows = await this.history.readHistory({
      studentId: uuid(input.studentId, 'student_id'),
      ...(input.conceptId !== undefined && { conceptId: uuid(input.conceptId, 'concept_id') }),
      ...(input.from !== undefined && { from: time(input.from, 'from') }),
      ...(input.to !== undefined && { to: time(input.to, 'to') }),
      ...(input.after !== undefined && { after: decodeCursor(input.after) }),
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    return { rows: page, ...(rows.length > limit && { nextAfter: encodeCursor(page[page.length - 1]) }) };
  }
}
