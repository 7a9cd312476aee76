/** Helpers of the fit-job tests: importing a log in process, a UUID copy of a log, and waiting for jobs. */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { loadResponseData } from '../../src/cli/load.js';
import { DEFAULT_COLUMNS, readResponseLog } from '../../src/cli/csv-input.js';
import { importedId, importLog, mapIds, ParametersCache, type ImportSummary } from '../../src/service/index.js';
import { SqlImportStore } from '../../src/store/import-store.js';
import { SqlStore, type PairsWrittenHook } from '../../src/store/sql-store.js';
import type { SqlDatabase } from '../../src/store/sql.js';
import { BIN } from '../support/bin.js';

const SILENT = { phase() {}, update() {}, stop() {} };

/** What `bkt import` does, in this process (PGlite in memory cannot be shared with a child process). */
export async function importInProcess(db: SqlDatabase, file: string, append = false, pairsWritten?: PairsWrittenHook): Promise<ImportSummary> {
  const { log, data } = await loadResponseData(file, DEFAULT_COLUMNS, SILENT);
  const parameters = new ParametersCache(new SqlStore(db), 60_000);
  await parameters.refresh();
  return importLog(
    new SqlImportStore(db, pairsWritten),
    { data, lineOf: log.lineOf, sha256: log.sha256, append, threshold: 0.95, parameters: (c) => parameters.get(c) },
    mapIds(data),
  );
}

/** The same log with every id replaced by the UUID `bkt import` stores it under, written into `dir`. */
export async function uuidCopy(file: string, dir: string): Promise<string> {
  const log = await readResponseLog(file, DEFAULT_COLUMNS);
  const { rows } = log;
  let text = 'student_id,concept_id,correct\n';
  for (let i = 0; i < log.count; i++) {
    text += `${importedId('student', rows.studentIds[rows.student[i]])},${importedId('concept', rows.conceptIds[rows.concept[i]])},${rows.correct[i]}\n`;
  }
  const out = join(dir, 'uuid-ids.csv');
  writeFileSync(out, text);
  return out;
}

export const ADMIN = 'adm-token-0123456789abcdef0123456789abcdef';
export const SERVICE = 'svc-token-0123456789abcdef0123456789abcdef';

/** Polls a job until its status is one of `until` (or the test times out). */
export async function waitForJob(app: FastifyInstance, id: string, until: string[] = ['done', 'failed', 'interrupted'], headers: Record<string, string> = {}) {
  for (;;) {
    const r = await app.inject({ method: 'GET', url: `/api/bkt/fit/${id}`, headers });
    expect(r.statusCode).toBe(200);
    const job = r.json();
    if (until.includes(job.status)) return job;
    // A job that ended otherwise will not reach the awaited status: fail now, with what it says.
    if (['done', 'failed', 'interrupted'].includes(job.status)) {
      throw new Error(`job ${id} ended ${job.status} (${job.error ?? 'no error'}) while waiting for ${until.join(' or ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Starts a fit job and waits for it to end; fails with the job's error if it did not finish. */
export async function runFit(app: FastifyInstance, body: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const r = await app.inject({ method: 'POST', url: '/api/bkt/fit', payload: body, headers });
  expect(r.statusCode, r.body).toBe(202);
  const job = await waitForJob(app, r.json().job_id, undefined, headers);
  expect(job.status, job.error ?? '').toBe('done');
  return job;
}

/** Runs the built bin with extra environment variables. */
export function bktWithEnv(args: string[], env: Record<string, string>, cwd?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
