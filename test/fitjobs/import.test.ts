/**
 * `bkt import` through the built bin: a rerun is a no-op, pairs with state are refused unless --append (and an
 * append continues them exactly), the id mapping, and the refusal to run beside `bkt serve` on PGlite.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BKT_IMPORT_NAMESPACE, importedId } from '../../src/service/index.js';
import { acquireLockFile } from '../../src/store/lock-file.js';
import { openPglite } from '../../src/store/pglite-driver.js';
import type { SqlDatabase } from '../../src/store/sql.js';
import { bktJson, parseCsv, tempDir } from '../support/bin.js';
import { dataPath } from '../support/data.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/pg.js';
import { openPostgres } from '../../src/store/postgres-driver.js';
import { bktWithEnv } from './support.js';
import { seedPgliteDir } from '../support/pglite-template.js';

const SUBSET = dataPath('assist2009_pybkt_subset.csv');
const TIMEOUTS = { statementTimeoutMs: 5000, lockTimeoutMs: 2000 };

type Target = { env: Record<string, string>; open: () => Promise<SqlDatabase>; cleanup: () => Promise<void> };

/** A data directory that exists (empty, as a first `bkt import` would make it): no initdb in each child process. */
async function pgliteTarget(dir: string): Promise<Target> {
  const dataDir = join(dir, 'data');
  await seedPgliteDir(dataDir);
  return { env: { BKT_DATA_DIR: dataDir }, open: () => openPglite(dataDir, TIMEOUTS), cleanup: async () => {} };
}

async function serverTarget(): Promise<Target> {
  const scratch: ScratchDatabase = await createScratchDatabase('import');
  return {
    env: { DATABASE_URL: scratch.url },
    open: async () => openPostgres({ ...TIMEOUTS, connectionString: scratch.url, poolSize: 2, poolTimeoutMs: 2000 }),
    cleanup: () => scratch.drop(),
  };
}

/** Splits the subset's data lines in two files at `at` (the header in both). */
function split(dir: string, at: number): [string, string] {
  const lines = readFileSync(SUBSET, 'utf8').trimEnd().split('\n');
  const a = join(dir, 'part-a.csv');
  const b = join(dir, 'part-b.csv');
  writeFileSync(a, `${[lines[0], ...lines.slice(1, at)].join('\n')}\n`);
  writeFileSync(b, `${[lines[0], ...lines.slice(at)].join('\n')}\n`);
  return [a, b];
}

describe.each(['pglite', 'postgres'] as const)('bkt import into %s', (kind) => {
  let tmp: ReturnType<typeof tempDir>;
  let target: Target;
  const run = (args: string[]) => bktWithEnv(['import', ...args], { LOG_LEVEL: 'silent', ...target.env }, tmp.dir);
  const counts = async () => {
    const db = await target.open();
    try {
      const [h] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM public.mastery_history');
      const [m] = await db.query<{ n: number; rows: number }>('SELECT count(*)::int AS n, coalesce(sum(n_responses), 0)::int AS rows FROM public.student_mastery');
      return { history: h.n, pairs: m.n, responses: m.rows };
    } finally {
      await db.close();
    }
  };

  beforeAll(async () => {
    tmp = tempDir();
    target = kind === 'pglite' ? await pgliteTarget(tmp.dir) : await serverTarget();
  });
  afterAll(async () => {
    await target?.cleanup();
    tmp?.cleanup();
  });

  it('imports part of a log, refuses the rest without --append, and --append continues each pair exactly', async () => {
    const [a, b] = split(tmp.dir, 4000);
    const first = run([a, '--json', '--mapping', join(tmp.dir, 'map.csv')]);
    expect(first.status, first.stderr).toBe(0);
    const summary = JSON.parse(first.stdout);
    expect(summary).toMatchObject({ rows_imported: 3999, rows_already_imported: 0, namespace: BKT_IMPORT_NAMESPACE, tables_vacuumed: true });
    expect(await counts()).toEqual({ history: 3999, pairs: summary.pairs, responses: 3999 });

    const mapping = parseCsv(readFileSync(join(tmp.dir, 'map.csv'), 'utf8'));
    expect(mapping.header).toEqual(['kind', 'id', 'uuid']);
    for (const [k, id, u] of mapping.rows) expect(u).toBe(importedId(k as 'student' | 'concept', id));

    // The second part shares the student who straddles the split (and others): refused, nothing written.
    const refused = run([b]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/already have mastery state .*--append/);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    expect(await counts()).toMatchObject({ history: 3999 });

    const appended = run([b, '--append', '--json']);
    expect(appended.status, appended.stderr).toBe(0);
    expect(JSON.parse(appended.stdout).pairs_appended).toBeGreaterThan(0);
    expect(await counts()).toMatchObject({ history: 10791, responses: 10791 });

    // Appending continued every pair from its state: the states equal a replay of the whole file at once.
    const out = join(tmp.dir, 'states.csv');
    bktJson(['predict', SUBSET, '--final-states', '-o', out]);
    const expected = parseCsv(readFileSync(out, 'utf8')).rows;
    const db = await target.open();
    try {
      const rows = await db.query<{ student_id: string; concept_id: string; p_known: number; p_unknown: number; version: number }>(
        'SELECT student_id, concept_id, p_known, p_unknown, version FROM public.student_mastery',
      );
      const byPair = new Map(rows.map((r) => [`${r.student_id},${r.concept_id}`, r]));
      expect(rows).toHaveLength(expected.length);
      for (const [student, concept, known, unknown, , , responses] of expected) {
        const r = byPair.get(`${importedId('student', student)},${importedId('concept', concept)}`)!;
        expect(r.version).toBe(Number(responses));
        expect(Math.abs(r.p_known - Number(known))).toBeLessThan(1e-12);
        expect(Math.abs(r.p_unknown - Number(unknown))).toBeLessThan(1e-12);
      }
      // Sequence numbers run 1..n per pair with no gap where the two files meet.
      const gaps = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM (SELECT student_id, concept_id, max(seq) AS m, count(*) AS c
         FROM public.mastery_history GROUP BY 1, 2) x WHERE m <> c`,
      );
      expect(gaps[0].n).toBe(0);
    } finally {
      await db.close();
    }
  });

  it('importing the same files again is a no-op', async () => {
    const before = await counts();
    const [a, b] = split(tmp.dir, 4000);
    for (const file of [a, b]) {
      const again = run([file, '--json']);
      expect(again.status, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ rows_imported: 0, pairs_imported: 0 });
    }
    const text = run([a]);
    expect(text.stdout).toMatch(/nothing to import: all 3,999 rows of part-a.csv are already imported/);
    expect(await counts()).toEqual(before);
  });
});

describe('bkt import on PGlite beside bkt serve', () => {
  it('refuses while another process holds the data directory, and says why', () => {
    const tmp = tempDir();
    const dataDir = join(tmp.dir, 'data');
    // This test process plays `bkt serve`: it holds the lock file as the service does.
    const release = acquireLockFile(`${dataDir}.lock`);
    try {
      const r = bktWithEnv(['import', SUBSET], { BKT_DATA_DIR: dataDir }, tmp.dir);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`process ${process.pid} holds it`);
      expect(r.stderr).toMatch(/bkt serve.*stop the service, import, then start it again/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      release();
      tmp.cleanup();
    }
  });

  it('keeps UUID ids as they are (lower-cased) and rejects a bad namespace', async () => {
    const tmp = tempDir();
    try {
      const file = join(tmp.dir, 'uuids.csv');
      await seedPgliteDir(join(tmp.dir, 'data'));
      const s = '6B0F2A4E-2F1C-4F6E-9D67-1C1E0B8B8A11';
      writeFileSync(file, `student_id,concept_id,correct\n${s},algebra,1\n${s},algebra,0\n`);
      const r = bktWithEnv(['import', file, '--json', '--mapping', '-'], { BKT_DATA_DIR: join(tmp.dir, 'data') }, tmp.dir);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/--mapping/);
      const ok = bktWithEnv(['import', file, '--mapping', '-'], { BKT_DATA_DIR: join(tmp.dir, 'data') }, tmp.dir);
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stdout).toContain(`student,${s},${s.toLowerCase()}\n`);
      expect(ok.stdout).toContain(`concept,algebra,${importedId('concept', 'algebra')}\n`);
      const bad = bktWithEnv(['import', file, '--namespace', 'nope'], { BKT_DATA_DIR: join(tmp.dir, 'data') }, tmp.dir);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/--namespace/);
    } finally {
      tmp.cleanup();
    }
  });
});
