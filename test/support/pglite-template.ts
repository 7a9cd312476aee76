/**
 * An empty PGlite data directory, made once (initdb, a few seconds) and loaded by every in-memory test database
 * instead of running initdb again. The dump is kept in node_modules/.cache, named after the PGlite version, so later
 * runs and other test files reuse it; a dump is written to a temporary name and renamed, so a reader never sees half.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { MEMORY, openPglite } from '../../src/store/pglite-driver.js';
import type { SqlDatabase, TimeoutSettings } from '../../src/store/sql.js';

const require = createRequire(import.meta.url);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function pgliteVersion(): string {
  let dir = dirname(require.resolve('@electric-sql/pglite'));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

let template: Promise<Blob> | undefined;

const templateFile = (): string => join(ROOT, 'node_modules', '.cache', 'bkt-engine-tests', `pglite-${pgliteVersion()}-empty.tar`);

async function makeTemplate(): Promise<Blob> {
  const file = templateFile();
  if (existsSync(file)) return new Blob([readFileSync(file)]);
  const db = await PGlite.create('memory://');
  try {
    const dump = await db.dumpDataDir('none');
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, new Uint8Array(await dump.arrayBuffer()));
    renameSync(tmp, file);
    return dump;
  } finally {
    await db.close();
  }
}

/** The empty data directory for `openPglite(MEMORY, config, { loadDataDir })`. */
export function emptyPgliteTemplate(): Promise<Blob> {
  template ??= makeTemplate();
  return template;
}

/** A new, empty PGlite database in memory, as `openPglite(MEMORY, timeouts)` gives, started from the dump. */
export async function openMemoryPglite(timeouts: TimeoutSettings): Promise<SqlDatabase> {
  return openPglite(MEMORY, timeouts, { loadDataDir: await emptyPgliteTemplate() });
}

/**
 * Makes `dataDir` (absent or empty) an empty PGlite data directory, as PGlite's initdb would, by unpacking the dump:
 * for tests whose child processes (`bkt import`, `bkt serve`) open a data directory that may as well exist already.
 */
export async function seedPgliteDir(dataDir: string): Promise<void> {
  await emptyPgliteTemplate();
  mkdirSync(dataDir, { recursive: true });
  if (readdirSync(dataDir).length > 0) throw new Error(`${dataDir} is not empty`);
  const r = spawnSync('tar', ['-xf', templateFile(), '-C', dataDir], { encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(join(dataDir, 'PG_VERSION'))) throw new Error(`tar could not unpack the PGlite dump: ${r.error ?? r.stderr}`);
}
