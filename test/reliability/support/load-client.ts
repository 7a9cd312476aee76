/**
 * A bounded, seeded stream of updates and batches over a fixed set of student and concept ids, and a client that
 * sends it to `bkt serve` and records every request with its answer (or the lack of one). The stream is a pure
 * function of its seed; only the timing of the answers varies between runs.
 */
import { v5 as uuidv5 } from 'uuid';
import { Pool } from 'undici';
import { SERVICE_TOKEN } from './serve-process.js';

const NAMESPACE = '0b6f4c52-8d0e-4a3e-b1c7-5f2e9d8a7c61';

export interface ResponseBody {
  student_id: string;
  concept_id: string;
  correct: boolean;
  response_id: string;
  session_id?: string;
  answered_at?: string;
}

export interface Op {
  readonly kind: 'single' | 'batch';
  readonly responses: readonly ResponseBody[];
}

/** mulberry32: a small seeded generator, enough to pick ids and outcomes reproducibly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const studentId = (i: number) => uuidv5(`student:${i}`, NAMESPACE);
export const conceptId = (i: number) => uuidv5(`concept:${i}`, NAMESPACE);

export interface StreamOptions {
  readonly seed: number;
  readonly students: number;
  readonly concepts: number;
  /** Share of operations that are batches (the rest are single updates). */
  readonly batchShare?: number;
  readonly maxBatch?: number;
  /** Every response on this pair instead of random ones. */
  readonly hotPair?: readonly [string, string];
}

/** The stream: `next()` returns the next operation; ids are unique per (seed, position). */
export function updateStream(options: StreamOptions): { next(): Op } {
  const random = seededRandom(options.seed);
  const { batchShare = 0.2, maxBatch = 20 } = options;
  let n = 0;
  const response = (): ResponseBody => {
    n += 1;
    const [s, c] = options.hotPair ?? [studentId(Math.floor(random() * options.students)), conceptId(Math.floor(random() * options.concepts))];
    const body: ResponseBody = { student_id: s, concept_id: c, correct: random() < 0.7, response_id: uuidv5(`response:${options.seed}:${n}`, NAMESPACE) };
    const extra = random();
    if (extra < 0.2) body.session_id = uuidv5(`session:${options.seed}:${Math.floor(n / 10)}`, NAMESPACE);
    if (extra > 0.8) body.answered_at = new Date(1_750_000_000_000 + n * 1000).toISOString();
    return body;
  };
  return {
    next(): Op {
      if (random() < batchShare) {
        const size = 1 + Math.floor(random() * maxBatch);
        return { kind: 'batch', responses: Array.from({ length: size }, response) };
      }
      return { kind: 'single', responses: [response()] };
    },
  };
}

/** One request and what came back. status 0: no answer (connection refused or cut, or the client's timeout). */
export interface Exchange {
  readonly op: Op;
  /** ms since the run started (performance.now based). */
  readonly scheduledAt: number;
  sentAt: number;
  doneAt: number;
  status: number;
  answer?: unknown;
  retryAfter?: string;
  failure?: string;
}

export interface ClientOptions {
  readonly url: string;
  /** No answer after this long counts as a hang (status 0, failure 'timeout'). */
  readonly timeoutMs?: number;
  readonly connections?: number;
}

export interface LoadClient {
  send(op: Op, scheduledAt?: number): Promise<Exchange>;
  readonly exchanges: Exchange[];
  /** ms since the client was made. */
  now(): number;
  close(): Promise<void>;
}

export function loadClient(options: ClientOptions): LoadClient {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const pool = new Pool(options.url, {
    connections: options.connections ?? 256,
    pipelining: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connectTimeout: 2_000,
  });
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const exchanges: Exchange[] = [];
  return {
    exchanges,
    now,
    async send(op, scheduledAt = now()) {
      const ex: Exchange = { op, scheduledAt, sentAt: now(), doneAt: NaN, status: 0 };
      exchanges.push(ex);
      const body = JSON.stringify(op.kind === 'single' ? op.responses[0] : { responses: op.responses });
      try {
        const r = await pool.request({
          method: 'POST',
          path: op.kind === 'single' ? '/api/bkt/update' : '/api/bkt/update/batch',
          body,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVICE_TOKEN}` },
        });
        const text = await r.body.text();
        ex.status = r.statusCode;
        const ra = r.headers['retry-after'];
        if (typeof ra === 'string') ex.retryAfter = ra;
        try {
          ex.answer = JSON.parse(text);
        } catch {
          ex.failure = `not JSON: ${text.slice(0, 200)}`;
        }
      } catch (e) {
        const err = e as Error & { code?: string };
        ex.failure = err.code ?? err.message;
      }
      ex.doneAt = now();
      return ex;
    },
    close: () => pool.close(),
  };
}

/**
 * Open loop: operation k starts at k / rate seconds whatever the answers do, for `seconds`. `onTick` runs between
 * scheduling rounds (scenarios use it to stop the database or kill the service on cue). Resolves when every request
 * has an answer or failed.
 */
export async function openLoop(
  client: LoadClient,
  stream: { next(): Op },
  rate: number,
  seconds: number,
  onTick?: (elapsedMs: number) => void | Promise<void>,
): Promise<void> {
  const inFlight: Promise<unknown>[] = [];
  const start = client.now();
  const total = Math.floor(rate * seconds);
  let sent = 0;
  while (sent < total) {
    const elapsed = client.now() - start;
    const due = Math.min(total, Math.floor((elapsed / 1000) * rate) + 1);
    for (; sent < due; sent++) inFlight.push(client.send(stream.next(), start + (sent / rate) * 1000));
    await onTick?.(elapsed);
    await new Promise((r) => setTimeout(r, 2));
  }
  await Promise.all(inFlight);
}

/** Quantile of a list of numbers (nearest rank); NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const sorted = Float64Array.from(xs).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
