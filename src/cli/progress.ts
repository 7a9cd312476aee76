/**
 * A progress bar on stderr, shown only when stderr is a terminal (never in pipes, files or CI logs), so stdout
 * stays clean for `--json` and for output written to `-`.
 */
import { createRequire } from 'node:module';
import type * as CliProgress from 'cli-progress';

export interface Progress {
  /** Starts (or restarts) a phase with `total` units. */
  phase(name: string, total: number): void;
  update(done: number): void;
  stop(): void;
}

const SILENT: Progress = { phase() {}, update() {}, stop() {} };

export function makeProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return SILENT;
  // Loaded only for a terminal: start-up matters for short runs in scripts, and pipes never show a bar.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof CliProgress;
  const bar = new cliProgress.SingleBar(
    { stream, format: '{phase} [{bar}] {percentage}% | {eta_formatted}', hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  return {
    phase(name, total) {
      if (running) bar.stop();
      bar.start(Math.max(total, 1), 0, { phase: name.padEnd(8) });
      running = true;
    },
    update(done) {
      if (running) bar.update(done);
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}
