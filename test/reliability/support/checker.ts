/**
 * The checker: compares the record of every request and answer with the database afterwards.
 *
 * - every 2xx has exactly one history row per response, holding the values the answer returned;
 * - no history row exists that no request asked for (every row's response id was sent, with that row's body);
 * - every pair's state equals the replay of its history in seq order with the core's updateMastery and the
 *   parameters in effect, and seq runs 1..version without gaps;
 * - a response id never has more than one row, and at most one 2xx answer for it says `replayed: false`;
 * - a batch is all or nothing: of its ids, none or all have rows, whatever its answer was.
 * Requests without a 2xx (503, cut connections, a killed service) may or may not have been applied; either is fine,
 * but only once, and only all of a batch. Concepts the scenario wrote outside the load (CheckOptions.ignoreConcepts)
 * are left out.
 */
import pg from 'pg';
import { DEFAULT_PARAMS, DEFAULT_THRESHOLD, initialState, makeParams, updateMastery, type BktParams } from '../../../src/bkt/index.js';
import type { Exchange, ResponseBody } from './load-client.js';

interface HistoryRow {
  response_id: string | null;
  student_id: string;
  concept_id: string;
  seq: number;
  mastery_before: number;
  mastery_after: number;
  p_unknown_after: number;
  p_correct: number;
  response_correct: boolean;
  session_id: string | null;
  params_version: number;
  answered_ms: number | null;
}

interface PairRow {
  student_id: string;
  concept_id: string;
  p_known: number;
  p_unknown: number;
  version: number;
  n_responses: number;
  n_correct: number;
}

interface UpdateAnswer {
  student_id: string;
  concept_id: string;
  mastery_before: number;
  mastery_after: number;
  p_correct: number;
  n_responses: number;
  version: number;
  replayed: boolean;
}

export interface Figures {
  requests: number;
  responses: number;
  '2xx': number;
  '4xx': number;
  '5xx': number;
  'no answer': number;
  /** Responses acknowledged by a 2xx with no history row. */
  lost: number;
  /** Response ids with more than one row, or more than one answer claiming to have written. */
  duplicated: number;
  /** History rows no request asked for, or whose body differs from the request's. */
  unexpected: number;
  rows: number;
  pairs: number;
  /** History rows of the concepts the check was told to leave out (CheckOptions.ignoreConcepts). */
  'ignored rows': number;
}

export interface CheckResult {
  readonly figures: Figures;
  /** Every violation found, in words (empty when the record and the database agree). */
  readonly problems: string[];
}

const same = (a: number, b: number) => a === b || (Number.isNaN(a) && Number.isNaN(b));

function sameBody(row: HistoryRow, body: ResponseBody): boolean {
  return (
    row.student_id === body.student_id.toLowerCase() &&
    row.concept_id === body.concept_id.toLowerCase() &&
    row.response_correct === body.correct &&
    row.session_id === (body.session_id?.toLowerCase() ?? null) &&
    row.answered_ms === (body.answered_at === undefined ? null : Date.parse(body.answered_at))
  );
}

export interface CheckOptions {
  /** The service's mastery threshold (the replay's `mastered`). */
  readonly threshold?: number;
  /**
   * Concepts whose history and pairs the scenario wrote itself, outside the load (an imported log): left out of every
   * check, and counted in `ignored rows`. Without this their rows would be "asked for by no request".
   */
  readonly ignoreConcepts?: readonly string[];
}

export async function checkRecord(databaseUrl: string, exchanges: readonly Exchange[], options: CheckOptions = {}): Promise<CheckResult> {
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  const ignored = new Set((options.ignoreConcepts ?? []).map((c) => c.toLowerCase()));
  const problems: string[] = [];
  const problem = (p: string) => {
    if (problems.length < 50) problems.push(p);
    else if (problems.length === 50) problems.push('... (more problems not listed)');
  };
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  let history: HistoryRow[];
  let pairs: PairRow[];
  let parameters: Map<string, { params: BktParams; version: number }>;
  let ignoredRows = 0;
  try {
    history = (
      await client.query<HistoryRow>(
        `SELECT response_id, student_id, concept_id, seq, mastery_before, mastery_after, p_unknown_after, p_correct,
                response_correct, session_id, params_version,
                (extract(epoch FROM answered_at) * 1000)::float8 AS answered_ms
         FROM public.mastery_history`,
      )
    ).rows;
    pairs = (await client.query<PairRow>('SELECT student_id, concept_id, p_known, p_unknown, version, n_responses, n_correct FROM public.student_mastery')).rows;
    const params = await client.query<{ concept_id: string; p_l0: number; p_t: number; p_g: number; p_s: number; p_f: number; version: number }>(
      'SELECT concept_id, p_l0, p_t, p_g, p_s, p_f, version FROM public.bkt_parameters',
    );
    if (ignored.size > 0) {
      ignoredRows = history.length;
      history = history.filter((r) => !ignored.has(r.concept_id));
      ignoredRows -= history.length;
      pairs = pairs.filter((p) => !ignored.has(p.concept_id));
    }
    parameters = new Map(
      params.rows.map((r) => [r.concept_id, { params: makeParams({ prior: r.p_l0, learn: r.p_t, guess: r.p_g, slip: r.p_s, forget: r.p_f }), version: r.version }]),
    );
  } finally {
    await client.end();
  }

  // What was asked: response id -> the body (all requests carrying one id carry the same body).
  const asked = new Map<string, ResponseBody>();
  let responses = 0;
  for (const ex of exchanges) {
    for (const r of ex.op.responses) {
      responses++;
      const prior = asked.get(r.response_id);
      if (prior && JSON.stringify(prior) !== JSON.stringify(r)) problem(`the stream reused response id ${r.response_id} with another body (a bug of the suite)`);
      if (ignored.has(r.concept_id.toLowerCase())) problem(`the load sent response ${r.response_id} for concept ${r.concept_id}, which the check ignores (a bug of the suite)`);
      asked.set(r.response_id, r);
    }
  }

  const rowsById = new Map<string, HistoryRow[]>();
  let unexpected = 0;
  for (const row of history) {
    const body = row.response_id === null ? undefined : asked.get(row.response_id);
    if (!body) {
      unexpected++;
      problem(`history row ${row.student_id}/${row.concept_id} seq ${row.seq} (response id ${row.response_id}) was asked for by no request`);
      continue;
    }
    if (!sameBody(row, body)) {
      unexpected++;
      problem(`history row of response ${row.response_id} does not hold the request's body`);
    }
    const list = rowsById.get(row.response_id!) ?? [];
    list.push(row);
    rowsById.set(row.response_id!, list);
  }

  let duplicated = 0;
  for (const [id, list] of rowsById) {
    if (list.length > 1) {
      duplicated++;
      problem(`response ${id} has ${list.length} history rows`);
    }
  }

  const figures: Figures = {
    requests: exchanges.length,
    responses,
    '2xx': 0,
    '4xx': 0,
    '5xx': 0,
    'no answer': 0,
    lost: 0,
    duplicated: 0,
    unexpected,
    rows: history.length,
    pairs: pairs.length,
    'ignored rows': ignoredRows,
  };
  const writers = new Map<string, number>();
  for (const ex of exchanges) {
    const ids = ex.op.responses.map((r) => r.response_id);
    const present = ids.filter((id) => rowsById.has(id)).length;
    if (present !== 0 && present !== ids.length) problem(`a batch of ${ids.length} (first id ${ids[0]}) was applied in part: ${present} rows`);
    if (ex.status === 0) figures['no answer']++;
    else if (ex.status >= 500) figures['5xx']++;
    else if (ex.status >= 400) figures['4xx']++;
    if (ex.status < 200 || ex.status >= 300) continue;
    figures['2xx']++;
    const answers: UpdateAnswer[] =
      ex.op.kind === 'single' ? [ex.answer as UpdateAnswer] : ((ex.answer as { results?: UpdateAnswer[] })?.results ?? []);
    if (answers.length !== ids.length) {
      problem(`a 2xx for ${ids.length} responses returned ${answers.length} results`);
      continue;
    }
    ex.op.responses.forEach((body, i) => {
      const a = answers[i];
      const row = rowsById.get(body.response_id)?.[0];
      if (!row) {
        figures.lost++;
        problem(`acknowledged response ${body.response_id} (${ex.status}) has no history row`);
        return;
      }
      if (!a.replayed) writers.set(body.response_id, (writers.get(body.response_id) ?? 0) + 1);
      const mismatch =
        a.student_id !== row.student_id ||
        a.concept_id !== row.concept_id ||
        !same(a.mastery_before, row.mastery_before) ||
        !same(a.mastery_after, row.mastery_after) ||
        !same(a.p_correct, row.p_correct) ||
        a.version !== row.seq ||
        a.n_responses !== row.seq;
      if (mismatch) problem(`answer for ${body.response_id} differs from its row: ${JSON.stringify(a)} vs ${JSON.stringify(row)}`);
    });
  }
  for (const [id, n] of writers) {
    if (n > 1) {
      duplicated++;
      problem(`${n} answers for response ${id} said replayed: false`);
    }
  }
  figures.duplicated = duplicated;

  // Replay each pair's history in seq order with the core.
  const byPair = new Map<string, HistoryRow[]>();
  for (const row of history) {
    const key = `${row.student_id}/${row.concept_id}`;
    const list = byPair.get(key) ?? [];
    list.push(row);
    byPair.set(key, list);
  }
  for (const pair of pairs) {
    const key = `${pair.student_id}/${pair.concept_id}`;
    const rows = (byPair.get(key) ?? []).sort((a, b) => a.seq - b.seq);
    byPair.delete(key);
    const p = parameters.get(pair.concept_id) ?? { params: DEFAULT_PARAMS, version: 0 };
    let state = initialState(p.params);
    let nCorrect = 0;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      if (row.seq !== i + 1) {
        problem(`pair ${key}: seq ${row.seq} at position ${i + 1}`);
        break;
      }
      if (row.params_version !== p.version) problem(`pair ${key} seq ${row.seq}: params_version ${row.params_version}, in effect ${p.version}`);
      const u = updateMastery(state, row.response_correct, p.params, threshold);
      if (!same(u.masteryBefore, row.mastery_before) || !same(u.masteryAfter, row.mastery_after) || !same(u.pCorrect, row.p_correct) || !same(u.state.unknown, row.p_unknown_after)) {
        problem(`pair ${key} seq ${row.seq}: the row differs from the replay of its history`);
        break;
      }
      state = u.state;
      nCorrect += row.response_correct ? 1 : 0;
    }
    if (!same(state.known, pair.p_known) || !same(state.unknown, pair.p_unknown)) problem(`pair ${key}: state differs from the replay of its ${rows.length} rows`);
    if (pair.version !== rows.length || pair.n_responses !== rows.length || pair.n_correct !== nCorrect) {
      problem(`pair ${key}: version ${pair.version}, n_responses ${pair.n_responses}, n_correct ${pair.n_correct}; history has ${rows.length} rows, ${nCorrect} correct`);
    }
  }
  for (const key of byPair.keys()) problem(`history rows for ${key}, which has no state row`);
  return { figures, problems };
}

/** One line of figures, as every scenario prints them. */
export function formatFigures(name: string, f: Figures, extra: Record<string, string | number> = {}): string {
  const all = { ...f, ...extra };
  return `[${name}] ${Object.entries(all)
    .map(([k, v]) => `${k}: ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : v}`)
    .join(', ')}`;
}
