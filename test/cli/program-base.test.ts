/**
 * main.ts loads only the named subcommand's module (program-base.ts): each loader must register the command of
 * its name exactly as the whole program (program.ts) does, and every command of the program must have a loader.
 */
import { expect, it } from 'vitest';
import { baseProgram, COMMAND_LOADERS } from '../../src/cli/program-base.js';
import { buildProgram } from '../../src/cli/program.js';

it('has a loader for every command of the program, and none other', () => {
  expect(Object.keys(COMMAND_LOADERS).sort()).toEqual(buildProgram().commands.map((c) => c.name()).sort());
});

it.each(Object.keys(COMMAND_LOADERS))('the %s loader registers that command alone, with the same help', async (name) => {
  const program = baseProgram();
  (await COMMAND_LOADERS[name]())(program);
  expect(program.commands.map((c) => c.name())).toEqual([name]);
  const whole = buildProgram().commands.find((c) => c.name() === name)!;
  const subcommands = (c: typeof whole): string[] => [c.helpInformation(), ...c.commands.flatMap(subcommands)];
  expect(subcommands(program.commands[0])).toEqual(subcommands(whole));
});
