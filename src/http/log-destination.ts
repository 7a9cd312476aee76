/**
 * Where the service's log lines go when no stream is given: stdout. By default pino writes each line with its own
 * blocking write(2); at hundreds of requests a second that is a system call per request, and on a small machine the
 * switch to whichever process it woke. A buffered destination holds lines up to BKT_LOG_BUFFER_BYTES and writes them
 * in one call, at least every FLUSH_MS, when the app closes, and synchronously at exit (pino's exit hook).
 *
 * Lines that would grow the buffer past MAX_BUFFERED_BYTES (stdout not read, for example a stalled log shipper) are
 * dropped and counted, rather than stalling the service or growing its memory without bound.
 */
import pino, { type DestinationStream } from 'pino';

/** The longest a buffered line waits before it is written. */
export const FLUSH_MS = 1000;

/** Buffered bytes past which new lines are dropped (and counted) instead of held. */
export const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

export interface LogDestination {
  readonly stream: DestinationStream;
  /** Lines dropped because stdout did not keep up (see MAX_BUFFERED_BYTES). */
  readonly dropped: () => number;
  /** Starts writing what is buffered now and stops the timer; later lines are still taken, and written at exit. */
  close(): void;
}

/** A buffered stdout destination, or undefined for pino's own (one write per line) when `bufferBytes` is 0. */
export function stdoutDestination(bufferBytes: number, fd = 1): LogDestination | undefined {
  if (bufferBytes === 0) return undefined;
  // A single write may be as long as two buffers (sonic-boom wants minLength below maxWrite).
  const stream = pino.destination({ dest: fd, sync: false, minLength: bufferBytes, maxWrite: Math.max(16 * 1024, 2 * bufferBytes), maxLength: MAX_BUFFERED_BYTES });
  let dropped = 0;
  stream.on('drop', () => dropped++);
  const timer = setInterval(() => stream.flush(), FLUSH_MS);
  timer.unref();
  return {
    stream,
    dropped: () => dropped,
    close() {
      clearInterval(timer);
      // Not flushSync: on a stdout that is not being read it would wait for the reader.
      stream.flush();
    },
  };
}
