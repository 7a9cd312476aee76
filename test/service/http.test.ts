/**
 * The HTTP face: every error of the table with its status and field, auth with service and admin tokens, settings
 * validation, operations routes, and the docs. The driver does not matter here, so PGlite in memory.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { ERROR_STATUS } from '../../src/http/errors.js';
import { newId, startService, type TestService } from '../support/service.js';

const SERVICE_TOKEN = 'svc-token-0123456789abcdef0123456789abcdef';
const ADMIN_TOKEN = 'adm-token-0123456789abcdef0123456789abcdef';
const ROTATED = 'old-token-0123456789abcdef0123456789abcdef';

describe('errors', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService('pglite');
    // A route that fails the way a bug would, registered before the app is first used.
    svc.app.get('/boom', async () => {
      throw new Error('relation "student_mastery" broke at /srv/app/src/store/sql-store.ts:42');
    });
  });
  afterAll(async () => {
    await svc?.stop();
  });
  const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
    svc.app.inject({ method: 'POST', url, payload: payload as string, headers: { 'content-type': 'application/json', ...headers } });
  const good = () => ({ student_id: newId(), concept_id: newId(), correct: true });

  it.each([
    ['a missing field', { student_id: newId(), concept_id: newId() }, 'correct', /correct is required/],
    ['an id that is not a UUID', { ...good(), student_id: 'alice' }, 'student_id', /must be a UUID/],
    ['a string where a boolean belongs', { ...good(), correct: 'true' }, 'correct', /boolean/],
    ['a number where a boolean belongs', { ...good(), correct: 1 }, 'correct', /boolean/],
    ['an unknown field', { ...good(), level: 0.5 }, 'level', /not a known field/],
    ['a time without a zone', { ...good(), answered_at: '2025-01-01 10:00' }, 'answered_at', /ISO 8601/],
    ['a body that is not an object', [1, 2], 'body', /object/],
  ])('400 for %s names the field', async (_what, body, field, message) => {
    const r = await post('/api/bkt/update', body);
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toEqual({ code: 'invalid_input', field, message: expect.stringMatching(message) });
  });

  it('400 for batch items names the item', async () => {
    const r = await post('/api/bkt/update/batch', { responses: [good(), { ...good(), concept_id: 'x' }] });
    expect(r.json().error).toMatchObject({ code: 'invalid_input', field: 'responses[1].concept_id' });
    const empty = await post('/api/bkt/update/batch', { responses: [] });
    expect(empty.json().error).toMatchObject({ code: 'invalid_input', field: 'responses' });
    const many = await post('/api/bkt/update/batch', { responses: Array.from({ length: 1001 }, good) });
    expect(many.statusCode).toBe(400);
    expect(many.json().error).toMatchObject({ code: 'invalid_input', field: 'responses' });
  });

  it('400 for bad path and query values', async () => {
    const bad = await svc.app.inject({ method: 'GET', url: `/api/bkt/mastery/not-a-uuid/${newId()}` });
    expect(bad.json().error).toMatchObject({ code: 'invalid_input', field: 'student_id' });
    const limit = await svc.app.inject({ method: 'GET', url: `/api/bkt/mastery/${newId()}?limit=0` });
    expect(limit.json().error).toMatchObject({ code: 'invalid_input', field: 'limit' });
    const word = await svc.app.inject({ method: 'GET', url: `/api/bkt/mastery/${newId()}?limit=ten` });
    expect(word.json().error).toMatchObject({ code: 'invalid_input', field: 'limit' });
  });

  it('400 for malformed JSON, 415 for another content type, 404 for an unknown route', async () => {
    const broken = await post('/api/bkt/update', '{"student_id": ');
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.code).toBe('invalid_json');
    const text = await svc.app.inject({ method: 'POST', url: '/api/bkt/update', payload: 'hello', headers: { 'content-type': 'text/plain' } });
    expect(text.statusCode).toBe(415);
    expect(text.json().error.code).toBe('unsupported_media_type');
    const missing = await svc.app.inject({ method: 'GET', url: '/api/bkt/nothing' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: { code: 'not_found', message: 'no route GET /api/bkt/nothing' } });
  });

  it('413 past 16 KiB for an update and past 1 MiB for a batch, not before', async () => {
    const big = await post('/api/bkt/update', { ...good(), pad: 'x'.repeat(17 * 1024) });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('payload_too_large');
    const item = { ...good(), answered_at: '2025-01-01T00:00:00Z', session_id: newId(), response_id: newId() };
    const fits = { responses: Array.from({ length: 1000 }, () => ({ ...item, response_id: newId() })) };
    expect(JSON.stringify(fits).length).toBeGreaterThan(16 * 1024);
    expect((await post('/api/bkt/update/batch', fits)).statusCode).toBe(200);
    const huge = await post('/api/bkt/update/batch', { responses: [good()], pad: 'x'.repeat(1024 * 1024) });
    expect(huge.statusCode).toBe(413);
  });

  it('never returns a stack trace or internals', async () => {
    const r = await post('/api/bkt/update', '{"student_id": ');
    expect(r.body).not.toMatch(/at .*\.(js|ts):\d+|node_modules|mastery_history|student_mastery/);
    const bug = await svc.app.inject({ method: 'GET', url: '/boom' });
    expect(bug.statusCode).toBe(500);
    expect(bug.json().error.code).toBe('internal');
    expect(bug.body).not.toMatch(/student_mastery|sql-store|\/srv\//);
    expect(bug.json().error.message).toContain('x-request-id');
    expect(bug.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('health, ready, metrics by route pattern without ids, and the OpenAPI 3.1 docs', async () => {
    expect((await svc.app.inject({ method: 'GET', url: '/health' })).json()).toEqual({ status: 'ok' });
    expect((await svc.app.inject({ method: 'GET', url: '/ready' })).json()).toEqual({ status: 'ready' });
    const s = newId();
    await svc.app.inject({ method: 'GET', url: `/api/bkt/mastery/${s}` });
    const metrics = (await svc.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/bkt_http_request_duration_seconds_count\{[^}]*route="\/api\/bkt\/mastery\/:student_id"/);
    expect(metrics).toMatch(/bkt_updates_total\{result="applied"\} [1-9]/);
    expect(metrics).toContain('bkt_db_pool_connections');
    expect(metrics).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
    const spec = (await svc.app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(spec.openapi).toBe('3.1.0');
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(['/api/bkt/update', '/api/bkt/update/batch', '/api/bkt/mastery/{student_id}', '/api/bkt/mastery/{student_id}/{concept_id}']),
    );
    expect((await svc.app.inject({ method: 'GET', url: '/docs' })).statusCode).toBe(200);
  });

  it('the README draft lists every error code of the table with its status', () => {
    const doc = readFileSync(new URL('../../docs/service.md', import.meta.url), 'utf8');
    for (const [code, status] of Object.entries(ERROR_STATUS)) expect(doc).toMatch(new RegExp(`\\| ${status} \\| \`${code}\``));
  });
});

describe('auth', () => {
  let svc: TestService;
  const lines: string[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const digest = createHash('sha256').update(ROTATED).digest('hex');
    svc = await startService('pglite', {
      env: { BKT_SERVICE_TOKENS: `${SERVICE_TOKEN}, sha256:${digest}`, BKT_ADMIN_TOKENS: ADMIN_TOKEN, LOG_LEVEL: 'trace' },
      logStream: sink,
    });
  });
  afterAll(async () => {
    await svc?.stop();
  });
  const get = (token?: string) =>
    svc.app.inject({ method: 'GET', url: `/api/bkt/mastery/${newId()}`, headers: token ? { authorization: `Bearer ${token}` } : {} });
  const erase = (token: string) =>
    svc.app.inject({ method: 'DELETE', url: `/api/bkt/students/${newId()}`, headers: { authorization: `Bearer ${token}` } });

  it('401 without a token or with a wrong one, and names the scheme', async () => {
    const none = await get();
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(none.json().error.code).toBe('unauthorized');
    expect((await get(SERVICE_TOKEN.slice(0, -1) + 'x')).statusCode).toBe(401);
    expect((await get(SERVICE_TOKEN.slice(0, 10))).statusCode).toBe(401);
    const basic = await svc.app.inject({ method: 'GET', url: `/api/bkt/mastery/${newId()}`, headers: { authorization: `Basic ${SERVICE_TOKEN}` } });
    expect(basic.statusCode).toBe(401);
  });

  it('service tokens (plain or as a digest) call service routes; admin routes need an admin token', async () => {
    expect((await get(SERVICE_TOKEN)).statusCode).toBe(200);
    expect((await get(ROTATED)).statusCode).toBe(200);
    expect((await get(ADMIN_TOKEN)).statusCode).toBe(200);
    const forbidden = await erase(SERVICE_TOKEN);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().error.code).toBe('forbidden');
    expect((await erase(ADMIN_TOKEN)).statusCode).toBe(200);
  });

  it('health needs no token, and no token reaches the logs', async () => {
    expect((await svc.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect(lines.length).toBeGreaterThan(0);
    const all = lines.join('');
    for (const t of [SERVICE_TOKEN, ADMIN_TOKEN, ROTATED]) expect(all).not.toContain(t);
  });
});

describe('settings', () => {
  it('are validated once, naming the setting', () => {
    const fails = (env: Record<string, string>, setting: string) => {
      let error: unknown;
      try {
        loadConfig(env);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).setting).toBe(setting);
    };
    fails({ BKT_SERVICE_TOKENS: 'short' }, 'BKT_SERVICE_TOKENS');
    fails({ BKT_ADMIN_TOKENS: 'sha256:abc' }, 'BKT_ADMIN_TOKENS');
    fails({ PORT: '70000' }, 'PORT');
    fails({ BKT_MASTERY_THRESHOLD: '1.5' }, 'BKT_MASTERY_THRESHOLD');
    fails({ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL');
    fails({ HOST: '0.0.0.0' }, 'HOST');
    fails({ HOST: '0.0.0.0', BKT_SERVICE_TOKENS: SERVICE_TOKEN }, 'HOST');
    expect(loadConfig({ HOST: '0.0.0.0', BKT_SERVICE_TOKENS: SERVICE_TOKEN, DATABASE_URL: 'postgres://h/db' }).host).toBe('0.0.0.0');
    expect(loadConfig({ HOST: '0.0.0.0', BKT_ALLOW_UNSAFE_BIND: 'true' }).allowUnsafeBind).toBe(true);
    expect(Object.isFrozen(loadConfig({}))).toBe(true);
  });
});
