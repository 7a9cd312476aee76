/** Starting the built `bkt serve` on a free loopback port, for the benchmarks that drive it over HTTP. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

export const MAIN = resolve(import.meta.dirname, '../../dist/cli/main.js');

export async function freePort(): Promise<number> {
  return new Promise((r) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => r(port));
    });
  });
}

/**
 * Spawns `bkt serve` with these settings and waits (up to 60 s) until /ready answers. SERVE_NODE_ARGS adds options to
 * its node command line, for example `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile the server under the bench.
 */
export async function startServe(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [...(process.env.SERVE_NODE_ARGS ?? '').split(' ').filter(Boolean), MAIN, 'serve'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${url}/ready`)).ok) return { child, url };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGTERM');
  throw new Error('bkt serve did not become ready');
}
