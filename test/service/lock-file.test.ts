/** PGlite's data directory is one process's: a second open is refused and names the holder; a dead holder's lock is taken over. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireLockFile, DataDirLockedError } from '../../src/store/lock-file.js';
import { openPglite } from '../../src/store/pglite-driver.js';
import { seedPgliteDir } from '../support/pglite-template.js';

const timeouts = { statementTimeoutMs: 5000, lockTimeoutMs: 2000 };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'bkt-lock-'));
  dirs.push(d);
  return d;
};

describe('the data directory lock', () => {
  it('refuses a second open of the same data directory and names the holder; frees it on close', async () => {
    const dataDir = join(tempDir(), 'data');
    await seedPgliteDir(dataDir);
    const db = await openPglite(dataDir, timeouts);
    let error: unknown;
    try {
      await openPglite(dataDir, timeouts);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DataDirLockedError);
    expect((error as DataDirLockedError).holderPid).toBe(process.pid);
    expect((error as Error).message).toContain(`process ${process.pid}`);
    await db.close();
    expect(existsSync(`${dataDir}.lock`)).toBe(false);
    const again = await openPglite(dataDir, timeouts);
    await again.close();
  });

  it('takes over a lock left by a process that has died', () => {
    const lock = join(tempDir(), 'data.lock');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    writeFileSync(lock, `${dead.stdout.toString()}\n`);
    const release = acquireLockFile(lock);
    expect(() => acquireLockFile(lock)).toThrow(DataDirLockedError);
    release();
    expect(existsSync(lock)).toBe(false);
  });
});
