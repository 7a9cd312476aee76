#!/usr/bin/env node
/** The `bkt` command: one subcommand per file in this folder, registered here. */
import { Command, CommanderError } from 'commander';
import { debugEnabled } from '../config.js';
import { EXIT_USAGE, reportError } from './errors.js';
import { registerCv } from './cv.js';
import { registerEvaluate } from './evaluate.js';
import { registerFit } from './fit.js';
import { registerGraph } from './graph.js';
import { registerPredict } from './predict.js';
import { registerMigrate } from './migrate.js';
import { registerImport } from './import.js';
import { registerServe } from './serve.js';
import { VERSION } from './version.js';

const program = new Command('bkt')
  .description('Bayesian Knowledge Tracing: fit, predict, evaluate and cross-validate response logs; run the mastery service')
  .showHelpAfterError('(run with --help for usage)')
  .version(VERSION)
  .exitOverride();

registerFit(program);
registerPredict(program);
registerEvaluate(program);
registerCv(program);
registerServe(program);
registerMigrate(program);
registerImport(program);
registerGraph(program);

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
