#!/usr/bin/env node
/** The `bkt` command: one subcommand per file in this folder, registered here. */
import { type Command, CommanderError } from 'commander';
import { EXIT_USAGE, reportError } from './errors.js';
import { baseProgram, COMMAND_LOADERS } from './program-base.js';

/**
 * The program for a command line: only the named subcommand when argv names one, so the others' modules are not
 * loaded; the whole program otherwise (help, version, an unknown or misspelt command).
 */
async function programFor(argv: readonly string[]): Promise<Command> {
  const name = argv[2];
  if (name !== undefined && Object.hasOwn(COMMAND_LOADERS, name)) {
    const program = baseProgram();
    (await COMMAND_LOADERS[name]())(program);
    return program;
  }
  return (await import('./program.js')).buildProgram();
}

// A closed pipe (`bkt evaluate ... | head`) is the reader's choice, not an error worth a message.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

try {
  const program = await programFor(process.argv);
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander has printed its message (help, version, or a usage error).
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
  } else {
    // The settings module is loaded only here: a run that succeeds does not need it.
    const { debugEnabled } = await import('../config.js');
    process.exitCode = reportError(err, process.stderr, debugEnabled(process.env));
  }
}
