/**
 * Output files are written to a temporary file beside the target and renamed into place only when complete, so a
 * failure (bad input found late, disk full, Ctrl-C) never leaves a half-written output behind.
 */
import { closeSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { once } from 'node:events';
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

/** Whether `path` exists and is something other than a regular file or a directory: a device, a FIFO, a socket. */
function isSpecialFile(path: string): boolean {
  try {
    const s = statSync(path);
    return !s.isFile() && !s.isDirectory();
  } catch {
    return false;
  }
}

/**
 * A text output written in large chunks with synchronous writes (simple, and as fast as streams for one file);
 * `commit()` renames it into place, `abort()` removes it. Writes to stdout (`-`) and to special files (`/dev/null`,
 * `/dev/stdout`, a named pipe) go straight to them: there is nothing to rename, and renaming over a device would
 * replace the device with a plain file. Stdout on a pipe is asynchronous: a long writer awaits `ready()` between
 * chunks so that a slow reader holds the output back instead of letting it pile up in memory.
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
    } else if (isSpecialFile(target)) {
      this.tmp = null;
      try {
        this.fd = openSync(target, 'w');
      } catch (err) {
        throw new InputError(target, null, `cannot write here: ${systemMessage(err as NodeJS.ErrnoException)}`);
      }
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

  /**
   * Appends bytes after any buffered text. Returns true when stdout keeps `chunk` (it must then not be changed);
   * false when the bytes are written and the chunk is free again.
   */
  writeBytes(chunk: Uint8Array): boolean {
    this.flush();
    if (this.fd === null) {
      process.stdout.write(chunk);
      return true;
    }
    // A pipe or device may take part of a write.
    for (let done = 0; done < chunk.length; ) done += writeSync(this.fd, chunk, done);
    return false;
  }

  /** Resolves once the output can take more: at once for files, after 'drain' when stdout's buffer is full. */
  async ready(): Promise<void> {
    if (this.fd === null && process.stdout.writableNeedDrain) await once(process.stdout, 'drain');
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
    if (this.fd === null || this.done) return;
    this.done = true;
    closeSync(this.fd);
    if (this.tmp === null) return;
    renameSync(this.tmp, this.target);
    pending.delete(this.tmp);
  }

  /** Removes the temporary file (no effect after commit; a special file is only closed). */
  abort(): void {
    if (this.done || this.fd === null) return;
    this.done = true;
    closeSync(this.fd);
    if (this.tmp === null) return;
    rmSync(this.tmp, { force: true });
    pending.delete(this.tmp);
  }
}

/** One CSV field, quoted when it holds a comma, quote, or line break (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
