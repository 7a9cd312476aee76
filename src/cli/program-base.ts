/**
 * The `bkt` program without its subcommands, and each subcommand's registration loaded on demand: `bkt fit` loads
 * fit.ts and what it imports, not the service, the store or the report renderer (start-up time and memory of
 * short runs; docs/benchmarks.md). program.ts registers them all, for help and the generated docs; main.ts picks.
 */
import { Command } from 'commander';
import { VERSION } from './version.js';

type Register = (program: Command) => void;

/** The program's name, description, version and error behaviour, with no subcommand yet. */
export function baseProgram(): Command {
  return new Command('bkt')
    .description('Bayesian Knowledge Tracing: fit, predict, evaluate and cross-validate response logs; run the mastery service')
    .showHelpAfterError('(run with --help for usage)')
    .version(VERSION)
    .exitOverride();
}

/** Each subcommand's name and the module that registers it (a test checks this against program.ts). */
export const COMMAND_LOADERS: Readonly<Record<string, () => Promise<Register>>> = Object.freeze({
  fit: async () => (await import('./fit.js')).registerFit,
  predict: async () => (await import('./predict.js')).registerPredict,
  evaluate: async () => (await import('./evaluate.js')).registerEvaluate,
  cv: async () => (await import('./cv.js')).registerCv,
  serve: async () => (await import('./serve.js')).registerServe,
  migrate: async () => (await import('./migrate.js')).registerMigrate,
  import: async () => (await import('./import.js')).registerImport,
  params: async () => (await import('./params-load.js')).registerParams,
  graph: async () => (await import('./graph.js')).registerGraph,
  report: async () => (await import('./report.js')).registerReport,
});
