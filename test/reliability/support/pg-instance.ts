/**
 * A private PostgreSQL 15 instance for the reliability suite: initdb into a temporary directory, its own free port on
 * 127.0.0.1 (and its socket in that directory), so stopping and restarting it harms nothing else on the machine.
 * Uses the machine's `initdb` and `pg_ctl` (PATH, or BKT_PG_BIN). initdb refuses to run as root, so as root every
 * command runs as the `postgres` OS user (`runuser`), which owns the directory.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PgInstance {
  readonly port: number;
  readonly dir: string;
  /** URL of a database on this instance (default `postgres`). */
  url(database?: string): string;
  /** `pg_ctl start -w`, in a child process (the event loop keeps running). */
  start(): Promise<void>;
  /** `pg_ctl stop -w`: `fast` disconnects clients and shuts down cleanly; `immediate` is a crash of the server. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  isRunning(): boolean;
  /** The server log so far (for failure messages). */
  log(): string;
  /** Stops the server if it runs and removes the directory. */
  destroy(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function binary(name: string): string {
  return process.env.BKT_PG_BIN ? join(process.env.BKT_PG_BIN, name) : name;
}

function osUser(): { uid: number; gid: number } | null {
  if (userInfo().uid !== 0) return null;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** initdb + start. Throws with initdb's or the server's own output when either fails. */
export async function createPgInstance(settings: Record<string, string> = {}): Promise<PgInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'bkt-reliability-pg-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const owner = osUser();
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const run = async (cmd: string, args: string[]): Promise<void> => {
    const [file, argv] = owner ? ['runuser', ['-u', 'postgres', '--', binary(cmd), ...args]] : [binary(cmd), args];
    try {
      await promisify(execFile)(file, argv, { encoding: 'utf8', cwd: dir });
    } catch (e) {
      const err = e as Error & { stderr?: string; stdout?: string };
      throw new Error(`${cmd} ${args.join(' ')} failed: ${err.stderr || err.stdout || err.message}`);
    }
  };
  try {
    await run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const port = await freePort();
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses='127.0.0.1'",
    '-c max_connections=100',
    ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`),
  ].join(' ');
  let running = false;
  const instance: PgInstance = {
    port,
    dir,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async start() {
      await run('pg_ctl', ['-D', data, '-l', logFile, '-o', options, '-w', '-t', '60', 'start']);
      running = true;
    },
    async stop(mode = 'fast') {
      await run('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
      running = false;
    },
    isRunning: () => running,
    log() {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
    async destroy() {
      if (running) {
        try {
          await instance.stop('immediate');
        } catch {
          // already gone: the directory goes anyway
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await instance.start();
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return instance;
}

/** Creates a database on the instance and returns its URL. */
export async function createDatabase(instance: PgInstance, name: string): Promise<string> {
  const c = new pg.Client({ connectionString: instance.url() });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  return instance.url(name);
}
