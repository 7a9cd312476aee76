/**
 * An exclusive lock file beside PGlite's data directory. PGlite is one process's embedded database: a second
 * process opening the same directory would corrupt it, so the second one is stopped and told who holds it.
 */
import { mkdirSync, openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';

export class DataDirLockedError extends Error {
  constructor(
    readonly lockPath: string,
    readonly holderPid: number,
  ) {
    super(
      `the data directory is in use by process ${holderPid} (lock file ${lockPath}); ` +
        'stop that process first, or set DATABASE_URL to share a PostgreSQL server between processes',
    );
    this.name = 'DataDirLockedError';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock or throws DataDirLockedError; a lock left by a dead process is taken over. Returns the release. */
export function acquireLockFile(lockPath: string): () => void {
  mkdirSync(dirname(lockPath), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          unlinkSync(lockPath);
        } catch {
          // Already gone: nothing to release.
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
      // Our own pid counts as a holder too: two opens of one data directory in one process corrupt it just the same.
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
        throw new DataDirLockedError(lockPath, holder);
      }
      // Stale (the holder died without cleaning up) or unreadable: remove and try once more.
      unlinkSync(lockPath);
    }
  }
  throw new Error(`could not take the lock file ${lockPath}`);
}
