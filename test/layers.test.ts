/**
 * The layer rules can fail: dependency-cruiser, with the project's own config, run on a scratch tree that
 * breaks each rule, must report every violation (and the real tree must pass, which `npm test` checks).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const scratch = mkdtempSync(join(tmpdir(), 'bkt-layers-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function file(path: string, text: string) {
  mkdirSync(dirname(join(scratch, path)), { recursive: true });
  writeFileSync(join(scratch, path), text);
}

it('dependency-cruiser rejects a core that imports Node, and a service that imports an adapter or a face', () => {
  cpSync(join(root, '.dependency-cruiser.cjs'), join(scratch, '.dependency-cruiser.cjs'));
  file('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }));
  file('src/bkt/core.ts', "import { readFileSync } from 'node:fs';\nimport { x } from '../service/use.js';\nexport const y = [readFileSync, x];\n");
  file('src/service/use.ts', "import { s } from '../store/sql.js';\nimport { h } from '../http/app.js';\nexport const x = [s, h];\n");
  file('src/store/sql.ts', 'export const s = 1;\n');
  file('src/http/app.ts', "import { c } from '../cli/main.js';\nexport const h = c;\n");
  file('src/cli/main.ts', 'export const c = 1;\n');
  let output = '';
  let failed = false;
  try {
    execFileSync(join(root, 'node_modules/.bin/depcruise'), ['src', '--config', '.dependency-cruiser.cjs'], {
      cwd: scratch, encoding: 'utf8', stdio: 'pipe',
    });
  } catch (e) {
    failed = true;
    output = String((e as { stdout?: string }).stdout);
  }
  expect(failed).toBe(true);
  for (const rule of ['core-is-pure', 'core-no-node-builtins', 'service-not-adapters', 'service-not-faces', 'http-not-cli']) {
    expect(output).toContain(rule);
  }
});
