/**
 * The real `bkt serve` as a child process (the built bin, dist/cli/main.js) on a free port of 127.0.0.1, as operators
 * run it. Its output is kept for failure messages and for the checks that no 500 was logged.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { BIN } from '../../support/bin.js';
import { freePort } from './pg-instance.js';

export const SERVICE_TOKEN = 'reliability-service-token-0123456789abcdef';
export const ADMIN_TOKEN = 'reliability-admin-token-0123456789abcdef0';

export interface ServeProcess {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Everything the process wrote to stdout and stderr (pino JSON lines). */
  output(): string;
  /** Resident set size in bytes (Linux /proc), or NaN where unavailable. */
  rss(): number;
  /** SIGKILL: no graceful shutdown, requests in flight are cut. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

export interface ServeOptions {
  readonly databaseUrl: string;
  readonly env?: Record<string, string>;
  /** Reuse a port (a restart after a crash keeps the clients' address). */
  readonly port?: number;
}

async function waitReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  // Polls /ready; the deadline marks failure only (a start on a loaded machine can take tens of seconds).
  const deadline = performance.now() + 120_000;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`bkt serve exited with ${child.exitCode}: ${output()}`);
    try {
      if ((await fetch(`${url}/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`bkt serve did not become ready: ${output()}`);
}

export async function startServe(options: ServeOptions): Promise<ServeProcess> {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first`);
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: options.databaseUrl,
      BKT_SERVICE_TOKENS: SERVICE_TOKEN,
      BKT_ADMIN_TOKENS: ADMIN_TOKEN,
      LOG_LEVEL: 'warn',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => chunks.push(d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => chunks.push(d));
  const output = () => chunks.join('');
  // 'close', not 'exit': the lines written at exit (the log buffer's last flush) may still be on their way.
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, child, output);
  return {
    url,
    port,
    pid: child.pid!,
    output,
    rss() {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        return m ? Number(m[1]) * 1024 : NaN;
      } catch {
        return NaN;
      }
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Runs another command of the built bin against the scenario's database (`graph enable`, `import`), asynchronously so
 * that the event loop goes on; rejects with the command's stderr when it fails. Returns its stdout.
 */
export async function runBkt(args: readonly string[], databaseUrl: string): Promise<string> {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first`);
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl },
      maxBuffer: 1 << 24,
    });
    return stdout;
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`bkt ${args.join(' ')} failed: ${err.stderr || err.message}`);
  }
}

/** Log lines of level error (50) or worse: a 500 is logged as `unhandled error`. */
export function errorLines(output: string): string[] {
  return output.split('\n').filter((l) => {
    try {
      return (JSON.parse(l) as { level?: number }).level! >= 50;
    } catch {
      return false;
    }
  });
}
