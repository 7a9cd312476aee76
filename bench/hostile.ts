/**
 * `npm run bench:hostile`: fires generated hostile requests (default 20,000; BKT_BENCH_REQUESTS) at a running
 * `bkt serve` it starts itself (embedded PGlite in memory, or BKT_BENCH_DATABASE_URL), 32 at a time over keep-alive
 * connections, across every route: strings of every shape, numbers out of range, timestamps at the edges, unknown
 * fields, deep nesting, huge arrays, broken UTF-8, repeated and conflicting ids, bad paths and headers. Prints the
 * count by status and by route, the service's event-loop delay (p99, from its /metrics) and RSS before and after,
 * and exits 1 if any answer was a 5xx. Seed: BKT_BENCH_SEED.
 */
import fc from 'fast-check';
import { Pool } from 'undici';
import { startServe } from './support/serve.js';

const TOTAL = Number(process.env.BKT_BENCH_REQUESTS ?? 20_000);
const SEED = Number(process.env.BKT_BENCH_SEED ?? 42);
const CONCURRENCY = 32;

const STUDENTS = ['6b0f2a4e-2f1c-4f6e-9d67-1c1e0b8b8a11', '2c9e7d1a-4b3f-4e8a-9c1d-7f6e5d4c3b2a'];
const CONCEPTS = ['0d7c8a55-9e2b-4a4f-8a57-3f8d1c2b9e01', '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a'];
const RESPONSE_IDS = ['11111111-2222-4333-8444-555555555555', '66666666-7777-4888-9999-aaaaaaaaaaaa'];
const EDGE_TIMES = [
  '0000-01-01T00:00:00Z', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999999999Z', '2024-06-01T00:00:00+23:00',
  '2024-06-01T00:00:00-15:59', '2024-02-30T00:00:00Z', '2016-12-31T23:59:60Z', '2024-01-01T00:00:00.1234567Z',
  '2024-01-01T00:00:00.123456789+05:30', '2024-01-01', '1e309', '',
];

/** Percent-encodes, replacing lone surrogates (which cannot be encoded) with U+FFFD first. */
const enc = (s: unknown) =>
  encodeURIComponent(String(s).replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));

interface HostileRequest {
  readonly route: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly body?: string | Buffer;
  readonly headers?: Record<string, string>;
}

const anyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom("'; DROP TABLE student_mastery; --", '\u0000', '%00', '../../etc/passwd', '\ud800', 'NaN', '__proto__', 'x'.repeat(5000)),
  fc.uuid(),
);
const anyNumber = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(-1, 0, 1, 1e308, -0, 2 ** 53 + 1));
const uuidish = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...STUDENTS, ...CONCEPTS) }, fc.uuid(), anyString);
const value = fc.oneof(anyString, anyNumber, fc.boolean(), fc.constant(null), fc.constantFrom(...EDGE_TIMES), fc.array(fc.integer(), { maxLength: 3 }));

const answer = fc.record(
  {
    student_id: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...STUDENTS) }, uuidish),
    concept_id: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...CONCEPTS) }, uuidish),
    correct: fc.oneof({ weight: 4, arbitrary: fc.boolean() }, value),
    response_id: fc.oneof(fc.constantFrom(...RESPONSE_IDS), fc.uuid(), value),
    session_id: fc.oneof(fc.uuid(), value),
    answered_at: fc.oneof(fc.constantFrom(...EDGE_TIMES), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), value),
    extra: value,
  },
  { requiredKeys: [] },
);

const deep = fc.integer({ min: 10, max: 200_000 }).map((n) => `{"responses":${'['.repeat(n)}${']'.repeat(n)}}`);
const brokenUtf8 = fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => Buffer.concat([Buffer.from('{"student_id":"'), Buffer.from(b), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]));

const request: fc.Arbitrary<HostileRequest> = fc.oneof(
  answer.map((b) => ({ route: 'POST /api/bkt/update', method: 'POST' as const, path: '/api/bkt/update', body: JSON.stringify(b) })),
  fc
    .array(answer, { maxLength: 30 })
    .map((rs) => ({ route: 'POST /api/bkt/update/batch', method: 'POST' as const, path: '/api/bkt/update/batch', body: JSON.stringify({ responses: rs }) })),
  fc.integer({ min: 1001, max: 5000 }).map((n) => ({
    route: 'POST /api/bkt/update/batch',
    method: 'POST' as const,
    path: '/api/bkt/update/batch',
    body: JSON.stringify({ responses: Array.from({ length: n }, () => ({ student_id: STUDENTS[0], concept_id: CONCEPTS[0], correct: true })) }),
  })),
  deep.map((body) => ({ route: 'POST /api/bkt/update/batch', method: 'POST' as const, path: '/api/bkt/update/batch', body })),
  brokenUtf8.map((body) => ({ route: 'POST /api/bkt/update', method: 'POST' as const, path: '/api/bkt/update', body })),
  fc.tuple(uuidish, fc.option(uuidish)).map(([s, c]) => ({
    route: c === null ? 'GET /api/bkt/mastery/:student_id' : 'GET /api/bkt/mastery/:student_id/:concept_id',
    method: 'GET' as const,
    path: `/api/bkt/mastery/${enc(s)}${c === null ? '' : `/${enc(c)}`}`,
  })),
  fc.tuple(uuidish, value, value, value).map(([s, from, to, limit]) => ({
    route: 'GET /api/bkt/history/:student_id',
    method: 'GET' as const,
    path: `/api/bkt/history/${enc(s)}?from=${enc(String(from))}&to=${enc(String(to))}&limit=${enc(String(limit))}`,
  })),
  fc.tuple(uuidish, fc.dictionary(fc.constantFrom('prior', 'learn', 'forget', 'guess', 'slip', 'x'), value)).map(([c, p]) => ({
    route: 'PUT /api/bkt/parameters/:concept_id',
    method: 'PUT' as const,
    path: `/api/bkt/parameters/${enc(c)}`,
    body: JSON.stringify(p),
  })),
  uuidish.map((c) => ({ route: 'GET /api/bkt/parameters/:concept_id', method: 'GET' as const, path: `/api/bkt/parameters/${enc(c)}` })),
  uuidish.map((s) => ({ route: 'DELETE /api/bkt/students/:student_id', method: 'DELETE' as const, path: `/api/bkt/students/${enc(s)}` })),
  fc.dictionary(fc.string({ maxLength: 10 }), value).map((b) => ({ route: 'POST /api/bkt/fit', method: 'POST' as const, path: '/api/bkt/fit', body: JSON.stringify(b) })),
  anyString.map((j) => ({ route: 'GET /api/bkt/fit/:job_id', method: 'GET' as const, path: `/api/bkt/fit/${enc(j)}` })),
  fc.constantFrom('/docs/static/%00', '/docs/static/..%2f..%2fpackage.json', '/docs/static/%2e%2e/%2e%2e/package.json', '/%ZZ', `/${'a'.repeat(3000)}`, '/api/bkt/mastery/%00').map((path) => ({
    route: 'bad paths',
    method: 'GET' as const,
    path,
  })),
  fc.string({ unit: 'grapheme-ascii', maxLength: 9000 }).map((id) => ({
    route: 'GET /health (x-request-id)',
    method: 'GET' as const,
    path: '/health',
    headers: { 'x-request-id': id.replace(/[\r\n]/g, '') },
  })),
);

/** nodejs_eventloop_lag_p99_seconds and process_resident_memory_bytes from the service's own /metrics. */
async function serviceFigures(url: string): Promise<{ lagP99Ms: number; rssMb: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)`, 'm').exec(text)?.[1] ?? NaN);
  return { lagP99Ms: read('nodejs_eventloop_lag_p99_seconds') * 1000, rssMb: read('process_resident_memory_bytes') / 2 ** 20 };
}

async function main(): Promise<void> {
  const env: Record<string, string> = process.env.BKT_BENCH_DATABASE_URL
    ? { DATABASE_URL: process.env.BKT_BENCH_DATABASE_URL }
    : { BKT_DATA_DIR: 'memory://' };
  const { child, url } = await startServe({ ...env, BKT_REQUEST_LOG: 'off' });
  const pool = new Pool(url, { connections: CONCURRENCY, keepAliveTimeout: 30_000 });
  try {
    const before = await serviceFigures(url);
    const requests = fc.sample(request, { numRuns: TOTAL, seed: SEED });
    const byStatus = new Map<string, number>();
    const byRoute = new Map<string, Map<string, number>>();
    let next = 0;
    const started = performance.now();
    const worker = async () => {
      while (next < requests.length) {
        const r = requests[next++];
        let status: string;
        try {
          const res = await pool.request({
            method: r.method,
            path: r.path,
            body: r.body,
            headers: { ...(r.body !== undefined && { 'content-type': 'application/json' }), ...r.headers },
          });
          await res.body.dump();
          status = String(res.statusCode);
        } catch (e) {
          status = `error ${(e as { code?: string }).code ?? String(e)}`;
        }
        byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
        const route = byRoute.get(r.route) ?? new Map<string, number>();
        route.set(status, (route.get(status) ?? 0) + 1);
        byRoute.set(r.route, route);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (performance.now() - started) / 1000;
    const after = await serviceFigures(url);
    const fmt = (m: Map<string, number>) => [...m].sort().map(([k, v]) => `${k}: ${v}`).join(', ');
    console.log(`bench:hostile: ${TOTAL} requests, seed ${SEED}, ${CONCURRENCY} at a time, ${seconds.toFixed(1)} s (${Math.round(TOTAL / seconds)}/s)`);
    console.log(`by status: ${fmt(byStatus)}`);
    console.log('by route:');
    for (const [route, m] of [...byRoute].sort()) console.log(`  ${route.padEnd(42)} ${fmt(m)}`);
    console.log(`service event-loop delay p99: ${before.lagP99Ms.toFixed(1)} ms before, ${after.lagP99Ms.toFixed(1)} ms after`);
    console.log(`service RSS: ${before.rssMb.toFixed(0)} MB before, ${after.rssMb.toFixed(0)} MB after`);
    const fiveHundreds = [...byStatus].filter(([k]) => k.startsWith('5') || k.startsWith('error')).reduce((n, [, v]) => n + v, 0);
    console.log(`5xx or transport errors: ${fiveHundreds}`);
    process.exitCode = fiveHundreds === 0 ? 0 : 1;
  } finally {
    await pool.close();
    child.kill('SIGTERM');
  }
}

await main();
