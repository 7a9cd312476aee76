#!/usr/bin/env node
/** The `bkt` command: one subcommand per file in this folder, registered here. */
import { CommanderError } from 'commander';
import { debugEnabled } from '../config.js';
import { EXIT_USAGE, reportError } from './errors.js';
import { buildProgram } from './program.js';

const program = buildProgram();

// A closed pipe (`bkt evaluate ... | head`) is the reader's choice, not an error worth a message.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander has printed its message (help, version, or a usage error).
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
  } else {
    process.exitCode = reportError(err, process.stderr, debugEnabled(process.env));
  }
}
