/**
 * Output files are written to a temporary file beside the target and renamed into place only when complete, so a
 * failure (bad input found late, disk full, Ctrl-C) never leaves a half-written output behind.
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { InputError, systemMessage } from './errors.js';

const pending = new Set<string>();
let signalsHooked = false;

function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const tmp of pending) rmSync(tmp, { force: true });
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

/**
 * A text output written in large chunks with synchronous writes (simple, and as fast as streams for one file);
 * `commit()` renames it into place, `abort()` removes it. Writes to stdout (`-`) are not atomic: nothing to rename.
 */
export class AtomicOutput {
  private readonly fd: number | null;
  private readonly tmp: string | null;
  private buffer = '';
  private done = false;

  constructor(readonly target: string) {
    if (target === '-') {
      this.tmp = null;
      this.fd = null;
    } else {
      hookSignals();
      this.tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      try {
        this.fd = openSync(this.tmp, 'wx');
      } catch (err) {
        // Name the output the user gave, not the temporary file beside it.
        throw new InputError(target, null, `cannot write here: ${systemMessage(err as NodeJS.ErrnoException)}`);
      }
      pending.add(this.tmp);
    }
  }

  /** Appends text; flushes in chunks of about 1 MB. */
  write(text: string): void {
    this.buffer += text;
    if (this.buffer.length >= 1 << 20) this.flush();
  }

  private flush(): void {
    if (this.buffer.length === 0) return;
    if (this.fd === null) process.stdout.write(this.buffer);
    else writeSync(this.fd, this.buffer);
    this.buffer = '';
  }

  /** Finishes the file and moves it into place. */
  commit(): void {
    this.flush();
    if (this.fd === null || this.tmp === null) return;
    closeSync(this.fd);
    renameSync(this.tmp, this.target);
    pending.delete(this.tmp);
    this.done = true;
  }

  /** Removes the temporary file (no effect after commit). */
  abort(): void {
    if (this.done || this.fd === null || this.tmp === null) return;
    this.done = true;
    closeSync(this.fd);
    rmSync(this.tmp, { force: true });
    pending.delete(this.tmp);
  }
}

/** One CSV field, quoted when it holds a comma, quote, or line break (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
