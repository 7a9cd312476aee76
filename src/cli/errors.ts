/**
 * Errors the CLI reports to the user: `file:line: problem`, no stack trace. Everything else that escapes a command
 * is reported as an internal error with its message (the stack only with BKT_DEBUG=true, which the entry point reads).
 */
/** Bad input (data or params file): exit code 1. */
export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(
    readonly file: string,
    readonly line: number | null,
    readonly problem: string,
  ) {
    super(line === null ? `${file}: ${problem}` : `${file}:${line}: ${problem}`);
  }
}

/** A bad option value or combination: exit code 2, like other usage errors. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const EXIT_INPUT = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 70;

/** Prints an error the way users should see it and returns the exit code. */
export function reportError(err: unknown, stderr: NodeJS.WritableStream = process.stderr, debug = false): number {
  if (err instanceof InputError) {
    stderr.write(`bkt: ${err.message}\n`);
    return EXIT_INPUT;
  }
  if (err instanceof UsageError || err instanceof RangeError) {
    // RangeErrors from the core name the option or parameter at fault (e.g. "restarts must be an integer >= 1").
    stderr.write(`bkt: ${err.message}\n`);
    return EXIT_USAGE;
  }
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.code === 'string' && typeof e.path === 'string') {
    // File system errors (ENOENT, EACCES, EISDIR...): the path and the system's own message, without a stack.
    stderr.write(`bkt: ${e.path}: ${systemMessage(e)}\n`);
    return EXIT_INPUT;
  }
  const message = err instanceof Error ? err.message : String(err);
  stderr.write(`bkt: internal error: ${message}\n`);
  if (debug && err instanceof Error && err.stack) stderr.write(`${err.stack}\n`);
  return EXIT_INTERNAL;
}

/** A file system error in a few words (ENOENT -> no such file or directory). */
export function systemMessage(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'ENOTDIR':
      return 'a parent of this path is not a directory';
    case 'Z_DATA_ERROR':
    case 'Z_BUF_ERROR':
      return 'not a valid gzip file';
    default:
      return `${e.code}: ${e.message.replace(/^[A-Z_]+: /, '')}`;
  }
}
