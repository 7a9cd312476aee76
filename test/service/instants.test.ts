/**
 * Date-times at the edges, on both drivers: shapes RFC 3339 allows that are not real instants get a 400 naming the
 * field (and the batch item), and an identical retry replays whatever precision (0 to 9 fraction digits) and offset
 * it is sent with, because the service rounds to the microsecond exactly as PostgreSQL does before comparing.
 * The rounding itself is checked against the server's own timestamptz input on generated date-times.
 */
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normaliseInstant } from '../../src/http/instant.js';
import { TEST_SEED } from '../support/seed.js';
import { DRIVERS, newId } from '../support/service.js';
import { requestsTo, serviceForSuite } from '../support/suite-service.js';
import { SERVER_URL } from '../support/pg.js';

const NOT_INSTANTS = [
  ['year 0000', '0000-06-01T00:00:00Z', /year 0000/],
  ['an offset beyond +15:59', '2024-06-01T00:00:00+23:00', /offset \+23:00/],
  ['an offset beyond -15:59', '2024-06-01T00:00:00-16:00', /offset -16:00/],
  ['minutes of offset past 59', '2024-06-01T00:00:00+01:60', /offset|ISO 8601/],
  ['year 0001 pushed before the epoch of the calendar', '0001-01-01T00:30:00+01:00', /outside/],
] as const;

describe.each(DRIVERS)('date-times on %s', (driver) => {
  const svc = serviceForSuite(driver);
  const { post } = requestsTo(svc);
  const answer = (answeredAt: string) => ({ student_id: newId(), concept_id: newId(), correct: true, answered_at: answeredAt });

  it.each(NOT_INSTANTS)('400 naming answered_at for %s', async (_what, text, message) => {
    const one = await post('/api/bkt/update', answer(text));
    expect(one.statusCode).toBe(400);
    expect(one.json().error).toEqual({ code: 'invalid_input', field: 'answered_at', message: expect.stringMatching(message) });
    const batch = await post('/api/bkt/update/batch', { responses: [answer('2024-06-01T00:00:00Z'), answer(text)] });
    expect(batch.statusCode).toBe(400);
    expect(batch.json().error).toMatchObject({ code: 'invalid_input', field: 'responses[1].answered_at' });
  });

  it.each(NOT_INSTANTS)('400 naming from and to for %s', async (_what, text) => {
    for (const field of ['from', 'to']) {
      const r = await svc.app.inject({ method: 'GET', url: `/api/bkt/history/${newId()}?${field}=${encodeURIComponent(text)}` });
      expect(r.statusCode).toBe(400);
      expect(r.json().error).toMatchObject({ code: 'invalid_input', field });
    }
  });

  it('a rejected batch item writes nothing', async () => {
    const first = answer('2024-06-01T00:00:00Z');
    const r = await post('/api/bkt/update/batch', { responses: [first, answer('0000-01-01T00:00:00Z')] });
    expect(r.statusCode).toBe(400);
    const read = await svc.app.inject({ method: 'GET', url: `/api/bkt/mastery/${first.student_id}/${first.concept_id}` });
    expect(read.json().n_responses).toBe(0);
  });

  it('identical retries replay at every precision and offset', async () => {
    // One instant, 12:34:56.123456789 UTC, written with 0 to 9 fraction digits: each precision is its own response
    // (rounding changes the instant), and every retry of it, in another offset and with trailing zeros, replays.
    const base = '12:34:56.123456789';
    for (let digits = 0; digits <= 9; digits++) {
      const time = digits === 0 ? base.slice(0, 8) : base.slice(0, 9 + digits);
      const body = { ...answer(`2024-03-10T${time}Z`), response_id: newId() };
      const first = await post('/api/bkt/update', body);
      expect(first.statusCode, first.body).toBe(200);
      expect(first.json().replayed).toBe(false);
      const padded = digits === 0 ? `${time}.000000000` : `${time}${'0'.repeat(9 - digits)}`;
      const retries = [
        `2024-03-10T${time}Z`,
        `2024-03-10T${time}+00:00`,
        `2024-03-10T${padded}z`,
        `2024-03-10T${String(12 + 5).padStart(2, '0')}${time.slice(2)}+05:00`,
        `2024-03-09T${String(12 + 24 - 15).padStart(2, '0')}${time.slice(2).replace(/^:34/, ':04')}-15:30`,
      ];
      for (const at of retries) {
        const again = await post('/api/bkt/update', { ...body, answered_at: at });
        expect(again.statusCode, `${at}: ${again.body}`).toBe(200);
        expect(again.json().replayed, at).toBe(true);
      }
      // A different instant under the same id is still a conflict.
      const other = await post('/api/bkt/update', { ...body, answered_at: `2024-03-10T${time.slice(0, 7)}7Z` });
      expect(other.statusCode).toBe(409);
    }
  });

  it('a batch retried with more digits replays', async () => {
    const responses = [0, 1, 2].map(() => ({ ...answer('2024-03-10T08:00:00.1234565Z'), response_id: newId() }));
    expect((await post('/api/bkt/update/batch', { responses })).statusCode).toBe(200);
    const again = await post('/api/bkt/update/batch', {
      responses: responses.map((r) => ({ ...r, answered_at: '2024-03-10T09:00:00.123456500+01:00' })),
    });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json().results.map((x: { replayed: boolean }) => x.replayed)).toEqual([true, true, true]);
  });

  it('history stores the rounded instant and from/to take any precision', async () => {
    const body = answer('2024-03-10T08:00:00.9999996+02:00');
    expect((await post('/api/bkt/update', body)).statusCode).toBe(200);
    const url = `/api/bkt/history/${body.student_id}?from=${encodeURIComponent('2000-01-01T00:00:00.0000000001+15:59')}&to=${encodeURIComponent('9999-12-31T00:00:00.999999999+15:59')}`;
    const page = await svc.app.inject({ method: 'GET', url });
    expect(page.statusCode, page.body).toBe(200);
    expect(new Date(page.json().rows[0].answered_at).toISOString()).toBe('2024-03-10T06:00:01.000Z');
  });
});

describe('rounding agrees with PostgreSQL', () => {
  let client: pg.Client;
  beforeAll(async () => {
    client = new pg.Client(SERVER_URL);
    await client.connect();
    await client.query("SET timezone = 'UTC'");
  });
  afterAll(async () => {
    await client?.end();
  });

  it('on generated date-times with 0 to 12 fraction digits and any offset', async () => {
    const p2 = (x: number) => String(x).padStart(2, '0');
    const texts = fc.sample(
      fc
        .tuple(
          fc.integer({ min: 1, max: 9999 }),
          fc.integer({ min: 1, max: 12 }),
          fc.integer({ min: 1, max: 28 }),
          fc.integer({ min: 0, max: 23 }),
          fc.integer({ min: 0, max: 59 }),
          fc.integer({ min: 0, max: 59 }),
          fc.oneof(fc.stringMatching(/^[0-9]{0,12}$/), fc.stringMatching(/^[0-9]{6}5$/)),
          fc.integer({ min: -959, max: 959 }),
        )
        .map(([y, mo, d, h, mi, s, frac, off]) => {
          const zone = off === 0 ? 'Z' : `${off < 0 ? '-' : '+'}${p2(Math.floor(Math.abs(off) / 60))}:${p2(Math.abs(off) % 60)}`;
          return `${String(y).padStart(4, '0')}-${p2(mo)}-${p2(d)}T${p2(h)}:${p2(mi)}:${p2(s)}${frac ? `.${frac}` : ''}${zone}`;
        }),
      { numRuns: 400, seed: TEST_SEED },
    );
    const { rows } = await client.query<{ t: string; v: string }>(
      `SELECT t, to_char(t::timestamptz, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS v FROM unnest($1::text[]) AS t
        WHERE t::timestamptz BETWEEN '0001-01-01T00:00:00Z' AND '9999-12-31T23:59:59.999999Z'`,
      [texts],
    );
    expect(rows.length).toBeGreaterThan(300);
    for (const r of rows) expect(normaliseInstant(r.t, 'answered_at'), r.t).toBe(r.v);
  });
});
