/**
 * The README's library example runs as written (with the package name pointed at the source), so that the first
 * code a newcomer copies cannot drift from the API.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, expect, it, vi } from 'vitest';
import { DEFAULT_PARAMS, initialState, updateMastery } from '../src/bkt/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const scratch = mkdtempSync(join(tmpdir(), 'bkt-readme-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function firstTypeScriptBlock(markdown: string): string {
  const match = /```ts\n([\s\S]*?)```/.exec(markdown);
  if (!match) throw new Error('README.md has no ```ts block');
  return match[1]!;
}

it('the README library example runs and computes what the core computes', async () => {
  const code = firstTypeScriptBlock(readFileSync(join(root, 'README.md'), 'utf8'));
  expect(code).toContain("from 'bkt-engine'");
  const core = pathToFileURL(join(root, 'src', 'bkt', 'index.ts')).href;
  const file = join(scratch, 'example.ts');
  writeFileSync(file, `${code.replace("from 'bkt-engine'", `from ${JSON.stringify(core)}`)}\nexport { state, fit };\n`);

  const printed: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(args.join(' ')));
  let mod: { state: { known: number }; fit: { responses: number; concepts: Array<{ conceptId: string }> } };
  try {
    mod = await import(pathToFileURL(file).href);
  } finally {
    log.mockRestore();
  }

  let expected = initialState(DEFAULT_PARAMS);
  const lines: string[] = [];
  for (const correct of [true, true, false, true, true]) {
    const u = updateMastery(expected, correct, DEFAULT_PARAMS);
    lines.push([u.pCorrect.toFixed(3), u.masteryAfter.toFixed(3), u.mastered].join(' '));
    expected = u.state;
  }
  expect(printed).toEqual(lines);
  expect(mod.state.known).toBe(expected.known);
  expect(mod.fit.responses).toBe(3);
  expect(mod.fit.concepts.map((c) => c.conceptId)).toEqual(['fractions']);
});
