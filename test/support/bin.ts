/** Runs the real built `bkt` bin (dist/cli/main.js) in a child process, as users do. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/cli/main.js');

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function bkt(args: string[], cwd?: string): Run {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does)`);
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs and parses --json output, failing with the command's stderr when it did not succeed. */
export function bktJson<T = Record<string, unknown>>(args: string[], cwd?: string): T {
  const r = bkt([...args, '--json'], cwd);
  if (r.status !== 0) throw new Error(`bkt ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'bkt-cli-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function listDir(dir: string): string[] {
  return readdirSync(dir).sort();
}

/** Parses CSV text without quoted fields (what the tests write and read). */
export function parseCsv(text: string): { header: string[]; rows: string[][] } {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return { header: lines[0].split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}
