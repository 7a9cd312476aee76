/**
 * The OpenAPI document the service serves: committed as src/client/openapi.json (the generated client's source),
 * clean under `redocly lint` with the strict recommended rules, and complete where clients rely on it: an
 * operationId per operation, named schemas, integer limits, the error codes as an enum, each route's real error
 * statuses, and the x-request-id, Retry-After and WWW-Authenticate headers. The client generated from it
 * (`bkt-engine/client`) has committed types equal to what openapi-typescript gives, and works against a running
 * service on PGlite.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_TYPES_FILE, documentOf, formatOpenApi, GENERATE_COMMAND, OPENAPI_FILE, renderClientTypes } from '../scripts/openapi.js';
import { createBktClient } from '../src/client/index.js';
import { loadConfig } from '../src/config.js';
import { createRuntime, type Runtime } from '../src/runtime.js';
import { ERROR_STATUS } from '../src/http/errors.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const scratch = mkdtempSync(join(tmpdir(), 'bkt-openapi-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

type Json = Record<string, any>;
let doc: Json;
let runtime: Runtime;
let baseUrl: string;
const SERVICE_TOKEN = 'client-test-service-token-0123456789abcdef';
beforeAll(async () => {
  runtime = await createRuntime(loadConfig({ BKT_DATA_DIR: 'memory://', LOG_LEVEL: 'silent', BKT_SERVICE_TOKENS: SERVICE_TOKEN }));
  doc = await documentOf(runtime.app);
  baseUrl = await runtime.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await runtime?.close();
});

function operations(): [string, Json][] {
  return Object.entries(doc.paths as Json).flatMap(([path, ops]) =>
    Object.entries(ops as Json).map(([method, op]) => [`${method.toUpperCase()} ${path}`, op as Json] as [string, Json]),
  );
}

/** Runs redocly lint on a document; returns its exit status and output. */
function lint(document: unknown): { status: number; output: string } {
  const file = join(scratch, `doc-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(document));
  try {
    const output = execFileSync(join(root, 'node_modules/.bin/redocly'), ['lint', file, '--config', join(root, 'redocly.yaml')], {
      cwd: root, encoding: 'utf8', stdio: 'pipe', env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
    return { status: 0, output };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { status: err.status, output: `${err.stdout}\n${err.stderr}` };
  }
}

it('src/client/openapi.json is the document the app serves', () => {
  const committed = readFileSync(OPENAPI_FILE, 'utf8');
  expect(committed === formatOpenApi(doc), `the served OpenAPI document changed: run \`${GENERATE_COMMAND}\` and commit src/client`).toBe(true);
});

it('src/client/api-types.ts is what openapi-typescript generates from it', async () => {
  const committed = readFileSync(CLIENT_TYPES_FILE, 'utf8');
  expect(committed === (await renderClientTypes(doc)), `the client types are stale: run \`${GENERATE_COMMAND}\``).toBe(true);
});

describe('the typed client against a running service', () => {
  const student = '0b4cbb3e-3a41-4c55-9d6f-1f1d8c0e2a01';
  const concept = '6a1f0f52-94a6-4f0b-8d7e-2c6e3b9b7c02';

  it('records answers and reads mastery back, with the types of the document', async () => {
    const client = createBktClient({ baseUrl, token: SERVICE_TOKEN });
    const first = await client.POST('/api/bkt/update', { body: { student_id: student, concept_id: concept, correct: true } });
    expect(first.response.status).toBe(200);
    expect(first.data?.n_responses).toBe(1);
    expect(first.data?.mastery_after).toBeGreaterThan(first.data!.mastery_before);
    const batch = await client.POST('/api/bkt/update/batch', {
      body: { responses: [false, true].map((correct) => ({ student_id: student, concept_id: concept, correct })) },
    });
    expect(batch.data?.results.map((r) => r.n_responses)).toEqual([2, 3]);
    const pair = await client.GET('/api/bkt/mastery/{student_id}/{concept_id}', { params: { path: { student_id: student, concept_id: concept } } });
    expect(pair.data?.level).toBeCloseTo(batch.data!.results[1]!.mastery_after, 12);
    const page = await client.GET('/api/bkt/mastery/{student_id}', { params: { path: { student_id: student }, query: { limit: 1 } } });
    expect(page.data?.concepts.map((c) => c.concept_id)).toEqual([concept]);
  });

  it('returns the error body typed, with its code, and sends the token', async () => {
    const client = createBktClient({ baseUrl, token: SERVICE_TOKEN });
    const bad = await client.POST('/api/bkt/update', { body: { student_id: 'nope', concept_id: concept, correct: true } });
    expect(bad.response.status).toBe(400);
    expect(bad.error?.error).toMatchObject({ code: 'invalid_input', field: 'student_id' });
    expect(bad.response.headers.get('x-request-id')).toBeTruthy();
    const anonymous = await createBktClient({ baseUrl }).GET('/api/bkt/parameters', {});
    expect(anonymous.response.status).toBe(401);
    expect(anonymous.error?.error.code).toBe('unauthorized');
    expect(anonymous.response.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });
});

it('passes redocly lint (recommended-strict), which rejects an operation without an operationId', () => {
  const clean = lint(doc);
  expect(clean.status, clean.output).toBe(0);
  const broken = structuredClone(doc);
  delete broken.paths['/api/bkt/update'].post.operationId;
  const flagged = lint(broken);
  expect(flagged.status).not.toBe(0);
  expect(flagged.output).toContain('operation-operationId');
}, 120_000);

describe('what clients rely on', () => {
  it('has servers, a license, and a unique operationId on every operation', () => {
    expect(doc.servers.length).toBeGreaterThan(0);
    expect(doc.info.license.name).toBe('MIT');
    const ids = operations().map(([, op]) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('refers to named schemas for every request body and success response', () => {
    for (const [where, op] of operations()) {
      const body = op.requestBody?.content?.['application/json']?.schema;
      if (body) expect(body.$ref, where).toMatch(/^#\/components\/schemas\/[A-Z]\w+$/);
      const ok = op.responses['200'] ?? op.responses['202'];
      if (ok.content['text/html']) continue; // the admin report page
      expect(ok.content['application/json'].schema.$ref, where).toMatch(/^#\/components\/schemas\/[A-Z]\w+$/);
    }
    for (const name of ['ResponseBody', 'UpdateResult', 'StudentMastery', 'FitJob', 'ConceptParameters', 'HistoryPage', 'Error']) {
      expect(doc.components.schemas[name], name).toBeDefined();
    }
  });

  it('types every limit as an integer', () => {
    const limits = operations().flatMap(([, op]) => (op.parameters ?? []).filter((p: Json) => p.name === 'limit'));
    expect(limits.length).toBe(4);
    for (const p of limits) expect(p.schema.type).toBe('integer');
  });

  it("lists the error table's codes as the enum of error.code", () => {
    expect(doc.components.schemas.Error.properties.error.properties.code.enum).toEqual(Object.keys(ERROR_STATUS));
  });

  it('declares 409 and 404 only where they happen, 413 and 415 on every route with a body', () => {
    const statuses = new Map(operations().map(([, op]) => [op.operationId as string, Object.keys(op.responses)]));
    const with409 = [...statuses].filter(([, s]) => s.includes('409')).map(([id]) => id).sort();
    expect(with409).toEqual(['recordResponse', 'recordResponses', 'startFitJob']);
    const with404 = [...statuses].filter(([, s]) => s.includes('404')).map(([id]) => id);
    expect(with404).toEqual(['readFitJob']);
    for (const [where, op] of operations()) {
      const s = Object.keys(op.responses);
      expect(s.includes('413') && s.includes('415'), where).toBe(op.requestBody !== undefined);
      for (const always of ['400', '401', '403', '429', '500', '503']) expect(s, where).toContain(always);
    }
  });

  it('declares x-request-id on every response, Retry-After on 503 and WWW-Authenticate on 401', () => {
    for (const [where, op] of operations()) {
      for (const [status, response] of Object.entries(op.responses as Json)) {
        expect(response.headers['x-request-id'], `${where} ${status}`).toEqual({ $ref: '#/components/headers/RequestId' });
      }
      expect(op.responses['503'].headers['Retry-After']).toEqual({ $ref: '#/components/headers/RetryAfter' });
      expect(op.responses['429'].headers['Retry-After']).toEqual({ $ref: '#/components/headers/RetryAfter' });
      expect(op.responses['401'].headers['WWW-Authenticate']).toEqual({ $ref: '#/components/headers/WwwAuthenticate' });
    }
  });
});
