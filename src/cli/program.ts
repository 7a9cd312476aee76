/** The `bkt` program: every subcommand registered on one commander instance, without parsing anything. */
import { Command } from 'commander';
import { registerCv } from './cv.js';
import { registerEvaluate } from './evaluate.js';
import { registerFit } from './fit.js';
import { registerGraph } from './graph.js';
import { registerImport } from './import.js';
import { registerMigrate } from './migrate.js';
import { registerParams } from './params-load.js';
import { registerPredict } from './predict.js';
import { registerReport } from './report.js';
import { registerServe } from './serve.js';
import { baseProgram } from './program-base.js';

/** The program `bkt` runs; docs/cli.md is generated from it (`npm run docs:cli`). */
export function buildProgram(): Command {
  const program = baseProgram();
  registerFit(program);
  registerPredict(program);
  registerEvaluate(program);
  registerCv(program);
  registerServe(program);
  registerMigrate(program);
  registerImport(program);
  registerParams(program);
  registerGraph(program);
  registerReport(program);
  return program;
}
