/**
 * Fuzzing the real app (buildApp through createRuntime, PGlite in memory, driven by inject) with fast-check:
 * request bodies, path parameters, query strings and headers, valid ones mixed with malformed JSON, wrong types,
 * huge numbers, NaN strings, unicode, SQL and Cypher metacharacters, oversized bodies and wrong content types.
 *
 * Every answer is a 4xx with the error shape `{error: {code, message, field?}}` whose code has that status in the
 * error table, or a 2xx consistent with the input and the database; never a 5xx, a stack frame, a path or an
 * internal name; a rejected request leaves the database unchanged. 1,000 cases in `npm test`, 10,000 in the full run.
 * Seed: BKT_TEST_SEED.
 */
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_STATUS } from '../../src/http/errors.js';
import { TEST_SEED } from '../support/seed.js';
import { startService, type TestService } from '../support/service.js';
import { findLeaks } from './support/leaks.js';
import { ADMIN_TOKEN, SERVICE_TOKEN } from './support/serve-process.js';
import { size } from './support/size.js';

const RUNS = size(1_000, 10_000);

const STUDENTS = ['6b0f2a4e-2f1c-4f6e-9d67-1c1e0b8b8a11', '2c9e7d1a-4b3f-4e8a-9c1d-7f6e5d4c3b2a', 'A1B2C3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D'];
const CONCEPTS = ['0d7c8a55-9e2b-4a4f-8a57-3f8d1c2b9e01', '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a'];
const RESPONSE_IDS = ['11111111-2222-4333-8444-555555555555', '66666666-7777-4888-9999-aaaaaaaaaaaa', 'bbbbbbbb-cccc-4ddd-8eee-ffffffffffff'];

const NASTY = [
  "'; DROP TABLE student_mastery; --",
  "' OR '1'='1",
  '1; SELECT pg_sleep(10)',
  '$1',
  '\\x00',
  '\u0000',
  'MATCH (n) DETACH DELETE n',
  "'}) RETURN n //",
  '`name`',
  '{{7*7}}',
  '${process.exit(1)}',
  '../../etc/passwd',
  '%00',
  '%ZZ',
  'NaN',
  'Infinity',
  '-Infinity',
  '1e309',
  '-0',
  '0x10',
  '9007199254740993',
  '__proto__',
  'constructor',
  'true',
  'null',
  '😀🎉',
  'ǅ\u0301\u200d',
  '\ud800',
  'null\r\nX-Injected: 1',
  '2024-02-30T25:61:61Z',
  '0000-00-00T00:00:00Z',
  '+275760-09-13T00:00:00.000Z',
  '2024-01-01T00:00:00.1234567891Z',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '6b0f2a4e2f1c4f6e9d671c1e0b8b8a11',
  '{6b0f2a4e-2f1c-4f6e-9d67-1c1e0b8b8a11}',
  ' 6b0f2a4e-2f1c-4f6e-9d67-1c1e0b8b8a11',
];

const nastyString = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.uuid().map((u) => u.toUpperCase()),
  fc.string({ minLength: 200, maxLength: 3000, unit: 'grapheme-ascii' }),
);

const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  nastyString,
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, 1, -1, 1e308, -1e308, Number.MAX_SAFE_INTEGER, 0.5),
  fc.boolean(),
  fc.constant(null),
  fc.uuid(),
  fc.array(fc.oneof(fc.uuid(), fc.integer(), fc.boolean()), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.integer(), fc.string({ maxLength: 5 })), { maxKeys: 3 }),
);

const validResponse = fc.record(
  {
    student_id: fc.constantFrom(...STUDENTS),
    concept_id: fc.constantFrom(...CONCEPTS),
    correct: fc.boolean(),
    response_id: fc.oneof(fc.constantFrom(...RESPONSE_IDS), fc.uuid()),
    session_id: fc.uuid(),
    answered_at: fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  },
  { requiredKeys: ['student_id', 'concept_id', 'correct'] },
);

/** A valid response with one field replaced, dropped, or an unknown one added (sometimes left valid). */
const mutatedResponse: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: validResponse },
  {
    weight: 5,
    arbitrary: fc
      .tuple(validResponse, fc.constantFrom('student_id', 'concept_id', 'correct', 'response_id', 'session_id', 'answered_at', 'extra', '__proto__'), anyValue, fc.boolean())
      .map(([r, key, value, drop]) => {
        const o: Record<string, unknown> = { ...r };
        if (drop) delete o[key];
        else Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
        return o;
      }),
  },
  { weight: 1, arbitrary: anyValue },
);

const OVERSIZED_UPDATE = JSON.stringify({ student_id: STUDENTS[0], concept_id: CONCEPTS[0], correct: true, pad: 'x'.repeat(17 * 1024) });
const OVERSIZED_BATCH = JSON.stringify({ responses: Array.from({ length: 12_000 }, () => ({ student_id: STUDENTS[0], concept_id: CONCEPTS[0], correct: true })) });

/** Body text: JSON of a (mutated) value, or raw text that is not JSON, nested too deep, or too large. */
const rawBody: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    '{',
    '{"student_id":',
    '{"student_id": "6b0f2a4e-2f1c-4f6e-9d67-1c1e0b8b8a11", "concept_id": "0d7c8a55-9e2b-4a4f-8a57-3f8d1c2b9e01", "correct": true,}',
    '{"correct": 1e999}',
    '{"correct": tru}',
    "{'student_id': 'x'}",
    'null',
    '[]',
    '"string"',
    '12345',
    'NaN',
    '{"responses": null}',
    '{"responses": [null]}',
    '{"responses": {}}',
    '{"__proto__": {"correct": true}, "student_id": "6b0f2a4e-2f1c-4f6e-9d67-1c1e0b8b8a11"}',
    '{"constructor": {"prototype": {"x": 1}}}',
    '{"student_id": "6b0f2a4e-2f1c-4f6e-9d67-1c1e0b8b8a11", "student_id": "x", "concept_id": "0d7c8a55-9e2b-4a4f-8a57-3f8d1c2b9e01", "correct": true}',
    '\ufeff{"a":1}',
    '[' .repeat(5000) + ']'.repeat(5000),
    '{"a":'.repeat(3000) + '1' + '}'.repeat(3000),
    OVERSIZED_UPDATE,
    OVERSIZED_BATCH,
  ),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 100 }),
);

const body: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: mutatedResponse.map((v) => JSON.stringify(v) ?? 'undefined') },
  { weight: 3, arbitrary: fc.array(mutatedResponse, { minLength: 0, maxLength: 5 }).map((responses) => JSON.stringify({ responses })) },
  { weight: 1, arbitrary: fc.array(validResponse, { minLength: 1, maxLength: 5 }).map((responses) => JSON.stringify({ responses })) },
  { weight: 2, arbitrary: rawBody },
);

/** encodeURIComponent, or (for a lone surrogate, which it refuses) the bytes of one, percent-encoded. */
const encode = (s: string) => {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80';
  }
};

const segment = fc.oneof(
  fc.constantFrom(...STUDENTS, ...CONCEPTS),
  fc.uuid(),
  nastyString.map(encode),
  fc.constantFrom('..', '%00', '%ZZ', '%2e%2e', '%2F', '', ' ', '%20', 'a%0Ab', ';', '*', '%E2%80%AE'),
);

const query = fc.oneof(
  fc.constant(''),
  fc.dictionary(fc.constantFrom('limit', 'after', 'x', '__proto__', 'limit[]'), nastyString.map(encode), { maxKeys: 3 }).map((d) =>
    Object.entries(d).map(([k, v]) => `${k}=${v}`).join('&'),
  ),
  fc.constantFrom('limit=1&limit=2', 'limit=0', 'limit=500', 'limit=501', 'limit=9999', 'limit=-1', 'limit=1.5', 'limit=1e3', 'after=%00', '&&=&', 'limit', `after=${CONCEPTS[0]}&limit=1`),
);

const route = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ method: 'POST', path: '/api/bkt/update' }) },
  { weight: 3, arbitrary: fc.constant({ method: 'POST', path: '/api/bkt/update/batch' }) },
  { weight: 2, arbitrary: segment.map((s) => ({ method: 'GET', path: `/api/bkt/mastery/${s}` })) },
  { weight: 2, arbitrary: fc.tuple(segment, segment).map(([s, c]) => ({ method: 'GET', path: `/api/bkt/mastery/${s}/${c}` })) },
  { weight: 1, arbitrary: segment.map((s) => ({ method: 'DELETE', path: `/api/bkt/students/${s}` })) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'), fc.constantFrom('/', '/api', '/api/bkt/update', '/api/bkt/mastery', '/docs/json', '/health', '/ready', '/api/bkt/students/'), segment).map(
      ([method, base, s]) => ({ method, path: `${base}${base.endsWith('/') ? '' : '/'}${s}` }),
    ),
  },
);

const printable = (max: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: max });

const headers = fc.record(
  {
    authorization: fc.oneof(
      { weight: 8, arbitrary: fc.constant(`Bearer ${SERVICE_TOKEN}`) },
      { weight: 1, arbitrary: fc.constant(`Bearer ${ADMIN_TOKEN}`) },
      { weight: 1, arbitrary: fc.constantFrom(`Basic ${SERVICE_TOKEN}`, `bearer ${SERVICE_TOKEN}`, 'Bearer', 'Bearer  x', `Bearer ${SERVICE_TOKEN.slice(0, -1)}`) },
      { weight: 1, arbitrary: printable(80).map((s) => `Bearer ${s}`) },
    ),
    'content-type': fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON') },
      { weight: 1, arbitrary: fc.constantFrom(
      'application/json; charset=latin1',
      'application/vnd.api+json',
      'text/plain',
      'text/html',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      'application/octet-stream',
      '*/*',
      ';;;',
      'application/json; charset=utf-8; foo',
      ) },
    ),
    'x-request-id': fc.oneof(fc.uuid(), printable(200), fc.constant('a'.repeat(1000))),
    accept: fc.constantFrom('application/json', 'text/html', '*/*', 'application/xml', ''),
    'content-encoding': fc.constantFrom('gzip', 'br', 'identity', 'deflate'),
  },
  { requiredKeys: ['authorization', 'content-type'] },
);

/** Counts that any write changes. */
async function fingerprint(svc: TestService): Promise<string> {
  const [r] = await svc.db.query<{ h: number; m: number; v: number }>(
    'SELECT (SELECT count(*) FROM public.mastery_history)::int AS h, (SELECT count(*) FROM public.student_mastery)::int AS m, (SELECT coalesce(sum(version), 0) FROM public.student_mastery)::int AS v',
  );
  return `${r.h}/${r.m}/${r.v}`;
}

let svc: TestService;
const logLines: string[] = [];
beforeAll(async () => {
  const logStream = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  });
  svc = await startService('pglite', { env: { BKT_SERVICE_TOKENS: SERVICE_TOKEN, BKT_ADMIN_TOKENS: ADMIN_TOKEN, LOG_LEVEL: 'error' }, logStream });
  // Some state, so that reads find rows, replays happen and erasure has something to erase.
  for (const s of STUDENTS) {
    for (const c of CONCEPTS) {
      const r = await svc.app.inject({ method: 'POST', url: '/api/bkt/update', headers: { authorization: `Bearer ${SERVICE_TOKEN}` }, payload: { student_id: s, concept_id: c, correct: true } });
      expect(r.statusCode).toBe(200);
    }
  }
});
afterAll(async () => {
  await svc?.stop();
});

describe(`HTTP fuzzing (${RUNS} cases)`, () => {
  it('every answer is a 4xx with the error shape or a consistent 2xx; no 5xx, no leak; rejected requests change nothing', async () => {
    const tally: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(route, query, headers, body, async (r, q, h, payload) => {
        const url = q ? `${r.path}?${q}` : r.path;
        const hasBody = r.method === 'POST' || r.method === 'PUT' || r.method === 'PATCH' || (r.method === 'DELETE' && payload.length % 7 === 0);
        const before = await fingerprint(svc);
        const res = await svc.app.inject({ method: r.method as 'GET', url, headers: h, ...(hasBody && { payload }) });
        const after = await fingerprint(svc);
        const text = res.body;
        const request = `${r.method} ${url} ${JSON.stringify(h)} ${hasBody ? payload : ''}`;
        const where = `${r.method} ${url.slice(0, 200)} (${h['content-type']}) -> ${res.statusCode} ${text.slice(0, 300)}`;
        tally[String(res.statusCode)] = (tally[String(res.statusCode)] ?? 0) + 1;
        expect(res.statusCode, where).toBeLessThan(500);
        expect(res.headers['x-request-id'], where).toBeTruthy();
        expect(findLeaks(text, request), where).toEqual([]);
        if (r.method === 'HEAD' && text === '') {
          expect(after, where).toBe(before);
          return;
        }
        if (res.statusCode >= 400) {
          const json = JSON.parse(text) as { error: { code: keyof typeof ERROR_STATUS; message: string; field?: string } };
          expect(Object.keys(json), where).toEqual(['error']);
          expect(ERROR_STATUS[json.error.code], where).toBe(res.statusCode);
          expect(typeof json.error.message === 'string' && json.error.message.length > 0, where).toBe(true);
          expect(Object.keys(json.error).every((k) => ['code', 'message', 'field'].includes(k)), where).toBe(true);
          expect(after, `a rejected request changed the database: ${where}`).toBe(before);
          return;
        }
        expect(res.statusCode, where).toBe(200);
        if (r.method === 'GET' || r.method === 'HEAD') {
          expect(after, where).toBe(before);
          return;
        }
        const [h0, m0] = before.split('/').map(Number);
        const [h1, m1] = after.split('/').map(Number);
        const json = JSON.parse(text);
        if (r.method === 'DELETE') {
          expect(h0 - h1, where).toBe(json.history_rows);
          expect(m0 - m1, where).toBe(json.mastery_rows);
          return;
        }
        // A 2xx update: the input was valid; each result names its request's pair, and new rows = results not replayed.
        const sent = JSON.parse(payload);
        const inputs: { student_id: string; concept_id: string }[] = r.path.endsWith('/batch') ? sent.responses : [sent];
        const results: { student_id: string; concept_id: string; replayed: boolean; mastery_after: number }[] = r.path.endsWith('/batch') ? json.results : [json];
        expect(results.length, where).toBe(inputs.length);
        results.forEach((x, i) => {
          expect(x.student_id, where).toBe(inputs[i].student_id.toLowerCase());
          expect(x.concept_id, where).toBe(inputs[i].concept_id.toLowerCase());
          expect(x.mastery_after >= 0 && x.mastery_after <= 1, where).toBe(true);
        });
        expect(h1 - h0, where).toBe(results.filter((x) => !x.replayed).length);
      }),
      { numRuns: RUNS, seed: TEST_SEED, endOnFailure: true },
    );
    console.log(`[http fuzz] ${RUNS} cases, answers by status: ${JSON.stringify(tally)}`);
    expect(logLines.filter((l) => /"level":(50|60)/.test(l))).toEqual([]);
  });
});
