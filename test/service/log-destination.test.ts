/**
 * The buffered log destination (src/http/log-destination.ts): lines held below the buffer size still reach the file
 * by the periodic flush, close() writes what is held, 0 means pino's own destination, and a stdout nobody reads makes
 * it drop and count lines rather than hold them without bound.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { afterAll, expect, it } from 'vitest';
import { FLUSH_MS, MAX_BUFFERED_BYTES, stdoutDestination, type LogDestination } from '../../src/http/log-destination.js';

const dir = mkdtempSync(join(tmpdir(), 'bkt-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Resolves when `probe` holds; the deadline only marks failure. */
async function until(what: string, probe: () => boolean, deadlineMs = 30_000): Promise<void> {
  const deadline = performance.now() + deadlineMs;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`no ${what} within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Ends the destination's stream and waits until it has closed its file: a write still on its way to a descriptor
 * closed under it would fail later, in whatever test runs then.
 */
async function end(destination: LogDestination): Promise<void> {
  const stream = destination.stream as unknown as NodeJS.EventEmitter & { end(): void };
  await new Promise<void>((resolve) => {
    stream.once('close', () => resolve());
    stream.end();
  });
}

const linesOf = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);

it("0 keeps pino's own destination: one write per line", () => {
  expect(stdoutDestination(0)).toBeUndefined();
});

it('holds lines below the buffer size, then writes them by the periodic flush', async () => {
  const file = join(dir, 'flush.log');
  const fd = openSync(file, 'w');
  const destination = stdoutDestination(64 * 1024, fd)!;
  try {
    const log = pino(destination.stream);
    const written = performance.now();
    log.info({ n: 1 }, 'held');
    // Far below the buffer size: the line itself writes nothing.
    expect(readFileSync(file, 'utf8')).toBe('');
    await until('flushed line', () => readFileSync(file, 'utf8').includes('"msg":"held"'));
    // Written by the timer, not at once.
    expect(performance.now() - written).toBeGreaterThanOrEqual(FLUSH_MS * 0.5);
  } finally {
    destination.close();
    await end(destination);
  }
});

it('close() writes every held line, in order', async () => {
  const file = join(dir, 'close.log');
  const fd = openSync(file, 'w');
  const destination = stdoutDestination(64 * 1024, fd)!;
  const log = pino(destination.stream);
  for (let i = 0; i < 100; i++) log.info({ i }, 'line');
  expect(linesOf(file)).toHaveLength(0);
  destination.close();
  await until('100 lines', () => linesOf(file).length === 100);
  await end(destination);
  expect(linesOf(file).map((l) => (JSON.parse(l) as { i: number }).i)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  expect(destination.dropped()).toBe(0);
});

it('drops and counts lines when stdout is not read, instead of growing without bound', async () => {
  // A child whose stdout pipe this test never reads, as a service whose log shipper stalled. It logs 2.5 times the
  // bound, then reports what it dropped on stderr.
  const module = resolve(import.meta.dirname, '../../src/http/log-destination.ts');
  const script = `
    const { stdoutDestination } = await import(${JSON.stringify(module)});
    const { default: pino } = await import('pino');
    const destination = stdoutDestination(4096);
    const log = pino(destination.stream);
    const text = 'x'.repeat(1000);
    const lines = Math.ceil((${MAX_BUFFERED_BYTES} * 2.5) / 1000);
    for (let i = 0; i < lines; i++) log.info({ i }, text);
    process.stderr.write('dropped ' + destination.dropped() + ' of ' + lines + ' rss ' + process.memoryUsage().rss + '\\n');`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pause();
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  try {
    await until('drop report', () => /dropped \d+ of \d+ rss \d+\n/.test(err) || child.exitCode !== null, 120_000);
    const m = /dropped (\d+) of (\d+) rss (\d+)/.exec(err);
    expect(m, err).not.toBeNull();
    const [dropped, lines, rss] = [Number(m![1]), Number(m![2]), Number(m![3])];
    // At most the bound (plus what the pipe took) is held; the rest is dropped and counted.
    expect(dropped).toBeGreaterThan(lines - (MAX_BUFFERED_BYTES * 1.2) / 1000);
    expect(rss).toBeLessThan(400 * 1024 * 1024);
  } finally {
    // Its exit would wait for a reader to take the held lines: end it without one.
    child.kill('SIGKILL');
  }
});
