/**
 * What users install: the core package installs alone (no dependencies) and works from its tarball; the full
 * package exports what the README shows and the typed client; shipped source maps carry their sources.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_PARAMS, initialState, updateMastery } from '../src/bkt/index.js';

const ROOT = resolve(import.meta.dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'bkt-pack-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface PackEntry {
  filename: string;
  files: { path: string }[];
}

function pack(args: string[]): PackEntry {
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', ...args], { cwd: ROOT, encoding: 'utf8' });
  return (JSON.parse(out) as PackEntry[])[0];
}

describe('@bkt-engine/core', () => {
  it('packs the built core only, with no dependencies', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'packages/core/package.json'), 'utf8'));
    expect(manifest.dependencies ?? {}).toEqual({});
    const entry = pack(['--dry-run', '--workspace', '@bkt-engine/core']);
    const paths = entry.files.map((f) => f.path);
    expect(paths).toContain('dist/index.js');
    expect(paths).toContain('dist/update.d.ts');
    expect(paths.filter((p) => !p.startsWith('dist/') && !['package.json', 'README.md'].includes(p))).toEqual([]);
  });

  it('installs from its tarball alone and gives the same update as the source', () => {
    const entry = pack(['--workspace', '@bkt-engine/core', '--pack-destination', scratch]);
    const app = join(scratch, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module' }));
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', join(scratch, entry.filename)], { cwd: app });
    const installed = execFileSync('ls', [join(app, 'node_modules')], { encoding: 'utf8' }).trim().split('\n');
    expect(installed.filter((n) => !n.startsWith('.'))).toEqual(['@bkt-engine']);
    writeFileSync(
      join(app, 'main.js'),
      "import { DEFAULT_PARAMS, initialState, updateMastery } from '@bkt-engine/core';\n" +
        'const u = updateMastery(initialState(DEFAULT_PARAMS), true, DEFAULT_PARAMS);\n' +
        'console.log(JSON.stringify(u));\n',
    );
    const out = JSON.parse(execFileSync('node', ['main.js'], { cwd: app, encoding: 'utf8' }));
    expect(out).toEqual(JSON.parse(JSON.stringify(updateMastery(initialState(DEFAULT_PARAMS), true, DEFAULT_PARAMS))));
  });
});

describe('bkt-engine', () => {
  it('exports the worker-thread fitter the README shows', async () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const target = manifest.exports['./fitting'].default as string;
    const mod = await import(resolve(ROOT, target));
    expect(typeof mod.fitDatasetParallel).toBe('function');
  });

  it('ships the typed client as bkt-engine/client, resolved by package name', () => {
    const script = "const m = await import('bkt-engine/client'); const c = m.createBktClient({ baseUrl: 'http://127.0.0.1:1' });" +
      ' console.log(JSON.stringify([typeof m.createBktClient, typeof c.POST, typeof c.GET]));';
    const out = execFileSync('node', ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual(['function', 'function', 'function']);
    // Packed: the export's files are under dist, which the manifest ships ("files"), and exist once built.
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const { types, default: main } = manifest.exports['./client'] as { types: string; default: string };
    expect(manifest.files).toContain('dist');
    for (const file of [types, main]) {
      expect(file.startsWith('./dist/')).toBe(true);
      expect(existsSync(join(ROOT, file)), file).toBe(true);
    }
  });

  it('ships source maps with their sources', () => {
    const map = JSON.parse(readFileSync(join(ROOT, 'dist/bkt/update.js.map'), 'utf8'));
    expect(map.sourcesContent?.[0]).toContain('export function updateMastery');
  });
});
