/**
 * The report pages in a real browser: Debian's Chromium, driven by playwright-core. `bkt report` on assist2009 (with
 * a cross-validation file) and GET /admin/report of a service loaded with the real `bkt import` must render every
 * chart (an SVG with data marks), log no console error, and make no network request; a screenshot of each goes to
 * test-output/. Skips, saying why, only when no Chromium executable exists (.ci/run installs it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../../src/config.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { openPglite } from '../../src/store/pglite-driver.js';
import { bkt } from '../support/bin.js';
import { bktWithEnv, runFit } from '../fitjobs/support.js';
import { seedPgliteDir } from '../support/pglite-template.js';

const ROOT = resolve(import.meta.dirname, '../..');
const OUTPUT = join(ROOT, 'test-output');
const ASSIST2009 = resolve(ROOT, '../shared/data/assist2009.csv');
const ITEMS = resolve(ROOT, '../shared/data/assist2009_pybkt_subset_items.csv');
const ADMIN = 'adm-token-report-0123456789abcdef0123456789';

function findChromium(): string | null {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p);
  for (const c of candidates) if (existsSync(c)) return c;
  try {
    return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

const executablePath = findChromium();
if (executablePath === null) {
  console.warn('test/report/browser.test.ts: SKIPPED: no Chromium found (apt-get install chromium, or set CHROMIUM_PATH)');
}

interface PageCheck {
  consoleErrors: string[];
  requests: string[];
}

/** Opens `url` and records console errors, page errors and every request other than the page itself. */
async function open(browser: Browser, url: string, headers: Record<string, string> = {}): Promise<{ page: Page; check: PageCheck }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, extraHTTPHeaders: headers });
  const page = await context.newPage();
  const check: PageCheck = { consoleErrors: [], requests: [] };
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') check.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => check.consoleErrors.push(String(e)));
  page.on('request', (r) => {
    if (r.url() !== url) check.requests.push(r.url());
  });
  const response = await page.goto(url, { waitUntil: 'load' });
  expect(response?.ok() ?? true).toBe(true);
  return { page, check };
}

/** Every figure holds an SVG with at least `minMarks` data marks (paths/circles inside Vega's mark groups). */
async function chartMarks(page: Page): Promise<{ id: string; marks: number }[]> {
  return page.$$eval('section', (sections) =>
    sections.flatMap((s) =>
      [...s.querySelectorAll('figure > svg')].map((svg) => ({
        id: s.id,
        marks: svg.querySelectorAll('g[class*="role-mark"] path, g[class*="role-mark"] circle, g[class*="role-mark"] line').length,
      })),
    ),
  );
}

describe.skipIf(executablePath === null)('report pages in Chromium', () => {
  let browser: Browser;
  const tmp = mkdtempSync(join(tmpdir(), 'bkt-report-'));
  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    browser = await chromium.launch({ executablePath: executablePath!, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('bkt report on assist2009 draws curves, parameters, calibration and the table, offline', async () => {
    const params = join(tmp, 'params.json');
    const cv = join(tmp, 'cv.json');
    const html = join(tmp, 'report.html');
    const fit = bkt(['fit', ASSIST2009, '-o', params, '--restarts', '1']);
    expect(fit.status, fit.stderr).toBe(0);
    const cvRun = bkt(['cv', ASSIST2009, '--folds', '2', '--restarts', '1', '--json']);
    expect(cvRun.status, cvRun.stderr).toBe(0);
    writeFileSync(cv, cvRun.stdout);
    const report = bkt(['report', ASSIST2009, '--params', params, '--cv', cv, '-o', html, '--json']);
    expect(report.status, report.stderr).toBe(0);
    const summary = JSON.parse(report.stdout);
    expect(summary.concepts).toBe(110);

    const url = `file://${html}`;
    const { page, check } = await open(browser, url);
    const charts = await chartMarks(page);
    expect([...new Set(charts.map((c) => c.id))]).toEqual(['curves', 'parameters', 'cv']);
    expect(charts.filter((c) => c.id === 'curves')).toHaveLength(1); // 101 curves, one chart
    for (const c of charts) expect(c.marks, `chart in #${c.id}`).toBeGreaterThan(10);
    // One learning-curve panel per concept with a curve, each with its header.
    const panels = await page.$$eval('#curves svg g[class*="role-title"] text, #curves svg g[class*="row_header"] text, #curves svg text', (t) => t.length);
    expect(panels).toBeGreaterThan(100);
    // The concept table holds every concept, and sorting by a column reorders it.
    expect(await page.locator('#concepts tbody tr').count()).toBe(110);
    await page.locator('#concepts th', { hasText: 'responses' }).locator('button').click();
    await page.locator('#concepts th', { hasText: 'responses' }).locator('button').click();
    const responses = await page.$$eval('#concepts tbody tr', (rows) => rows.map((r) => Number(r.children[7].getAttribute("data-sort"))));
    expect(responses).toEqual([...responses].sort((a, b) => b - a));
    expect(check.consoleErrors).toEqual([]);
    expect(check.requests).toEqual([]);
    await page.screenshot({ path: join(OUTPUT, 'bkt-report.png'), fullPage: false });
  });

  it('the per-value view of a fit with --multigs item_id draws its chart and sortable ranked tables, offline', async () => {
    const params = join(tmp, 'items-params.json');
    const html = join(tmp, 'per-value.html');
    const fit = bkt(['fit', ITEMS, '--multigs', 'item_id', '--restarts', '1', '-o', params]);
    expect(fit.status, fit.stderr).toBe(0);
    const file = JSON.parse(readFileSync(params, 'utf8'));
    const counts = file.concepts.map((c: { per_value: { guess_slip: { values: unknown[] } } }) => c.per_value.guess_slip.values.length);
    const report = bkt(['report', ITEMS, '--params', params, '-o', html]);
    expect(report.status, report.stderr).toBe(0);
    const { page, check } = await open(browser, `file://${html}`);
    const charts = (await chartMarks(page)).filter((c) => c.id === 'per-value');
    expect(charts).toHaveLength(1);
    const values = counts.reduce((a: number, b: number) => a + b, 0);
    expect(charts[0]!.marks).toBeGreaterThanOrEqual(2 * values); // a guess and a slip dot per item
    const summaries = await page.$$eval('#per-value details > summary', (s) => s.map((x) => x.textContent));
    expect(summaries.sort()).toEqual(counts.map((n: number) => `guess and slip by item_id: ${n} values, hardest first`).sort());
    // Ranked hardest first; sorting by guess reorders the table.
    const items = page.locator('#per-value details').first();
    await items.locator('summary').click();
    const column = (i: number) => items.locator('tbody tr').evaluateAll((rows, i) => rows.map((r) => Number(r.children[i]!.textContent)), i);
    const difficulty = await column(4);
    expect(difficulty).toEqual([...difficulty].sort((a, b) => b - a));
    await items.locator('th', { hasText: 'guess' }).locator('button').click();
    const guesses = await column(2);
    expect(guesses).toEqual([...guesses].sort((a, b) => a - b));
    expect(check.consoleErrors).toEqual([]);
    expect(check.requests).toEqual([]);
    await page.locator('#per-value').screenshot({ path: join(OUTPUT, 'bkt-report-per-value.png') });
  });

  it('a hostile concept id is shown as text, never as markup', async () => {
    const csv = join(tmp, 'hostile.csv');
    const evil = '<img src=x onerror=alert(1)>"\'&';
    let text = 'student_id,concept_id,correct\n';
    for (let s = 0; s < 30; s++) for (let k = 0; k < 4; k++) text += `s${s},"${evil.replace(/"/g, '""')}",${(s + k) % 3 === 0 ? 0 : 1}\n`;
    writeFileSync(csv, text);
    const params = join(tmp, 'hostile.json');
    expect(bkt(['fit', csv, '-o', params]).status).toBe(0);
    const html = join(tmp, 'hostile.html');
    const r = bkt(['report', csv, '--params', params, '-o', html, '--min-students', '5']);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(html, 'utf8')).not.toContain('<img');
    const { page, check } = await open(browser, `file://${html}`);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('#concepts tbody tr td').first().textContent()).toBe(evil);
    expect(check.consoleErrors).toEqual([]);
    expect(check.requests).toEqual([]);
  });

  it('GET /admin/report of a service loaded with bkt import renders with its CSP header', async () => {
    const dataDir = join(tmp, 'pgdata');
    const log = join(tmp, 'log.csv');
    let text = 'student_id,concept_id,correct\n';
    // Three concepts: two where errors fall with practice, one where they do not.
    for (let s = 0; s < 60; s++) {
      for (const [concept, learns] of [['fractions', true], ['decimals', true], ['guessing', false]] as const) {
        for (let k = 0; k < 8; k++) {
          const pWrong = learns ? 0.6 * Math.exp(-0.4 * k) : 0.45;
          text += `stu${s},${concept},${((s * 7919 + k * 104729 + concept.length * 31) % 1000) / 1000 < pWrong ? 0 : 1}\n`;
        }
      }
    }
    writeFileSync(log, text);
    await seedPgliteDir(dataDir);
    const imported = bktWithEnv(['import', log, '--json'], { LOG_LEVEL: 'silent', BKT_DATA_DIR: dataDir }, tmp);
    expect(imported.status, imported.stderr).toBe(0);

    const config = loadConfig({ LOG_LEVEL: 'silent', BKT_DATA_DIR: dataDir, BKT_ADMIN_TOKENS: ADMIN });
    const db = await openPglite(dataDir, config);
    let runtime: Runtime | undefined;
    try {
      runtime = await createRuntime(config, { db });
      const auth = { authorization: `Bearer ${ADMIN}` };
      await runFit(runtime.app, {}, auth);
      expect((await runtime.app.inject({ method: 'GET', url: '/admin/report' })).statusCode).toBe(401);
      const address = await runtime.app.listen({ host: '127.0.0.1', port: 0 });
      const url = `${address}/admin/report`;
      const { page, check } = await open(browser, url, auth);
      const charts = await chartMarks(page);
      expect(charts.map((c) => c.id)).toEqual(['curves', 'mastery', 'parameters']);
      for (const c of charts) expect(c.marks, `chart in #${c.id}`).toBeGreaterThan(2);
      expect(await page.locator('#parameters tbody tr').count()).toBe(3);
      expect(await page.locator('#job dd').first().textContent()).toMatch(/^[0-9a-f-]{36}$/);
      expect(await page.locator('.note').first().textContent()).toMatch(/all \d[\d,]* history rows/);
      expect(check.consoleErrors).toEqual([]);
      expect(check.requests).toEqual([]);
      await page.screenshot({ path: join(OUTPUT, 'admin-report.png'), fullPage: false });
    } finally {
      await runtime?.close();
      await db.close();
    }
  }, 180_000); // a failure bound for a loaded machine: import, a fit job and two PGlite opens
});
