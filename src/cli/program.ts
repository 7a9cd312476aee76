/** The `bkt` program: every subcommand registered on one commander instance, without parsing anything. */
import { Command } from 'commander';
import { registerCv } from './cv.js';
import { registerEvaluate } from './evaluate.js';
import { registerFit } from './fit.js';
import { registerGraph } from './graph.js';
import { registerImport } from './import.js';
import { registerMigrate } from './migrate.js';
import { registerPredict } from './predict.js';
import { registerReport } from './report.js';
import { registerServe } from './serve.js';
import { VERSION } from './version.js';

/** The program `bkt` runs; docs/cli.md is generated from it (`npm run docs:cli`). */
export function buildProgram(): Command {
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
  registerReport(program);
  return program;
}
