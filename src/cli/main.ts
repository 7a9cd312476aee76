#!/usr/bin/env node
/** The `bkt` command: one subcommand per file in this folder, registered here. */
import { Command } from 'commander';
import { registerServe } from './serve.js';
import { registerMigrate } from './migrate.js';

const program = new Command('bkt')
  .description('Bayesian Knowledge Tracing: fit, predict, evaluate and cross-validate response logs; run the mastery service')
  .showHelpAfterError();

registerServe(program);
registerMigrate(program);

await program.parseAsync(process.argv);
