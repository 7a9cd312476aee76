/**
 * Functions stay under about 80 lines, split into named steps, except hot loops: kernels that run per row and
 * iteration stay one body so that nothing is called inside the loop. The rule is checked on both sides.
 */
import { resolve } from 'node:path';
import { expect, it } from 'vitest';
import { longFunctions, longFunctionsIn } from '../scripts/long-functions.js';

const root = resolve(import.meta.dirname, '..');

/** Allowed over the limit, each with its reason. */
const ALLOWED: Readonly<Record<string, string>> = {
  'src/cli/read-log.ts scan': 'hot loop: the CSV fast path over every byte of a log',
  'src/bkt/em.ts forwardBackward': 'hot loop: the E-step kernel',
  'src/bkt/em.ts forwardBackwardNoForget': 'hot loop: the E-step kernel without forgetting',
  'src/bkt/em-variants.ts forwardBackwardByValue': 'hot loop: the E-step kernel of the model variants',
};

it('finds functions, methods and arrows over the limit, and none under it', () => {
  const body = (n: number) => Array.from({ length: n }, (_, i) => `  x += ${i};`).join('\n');
  const text = [
    `export function long(): number {\n  let x = 0;\n${body(80)}\n  return x;\n}`,
    `const short = () => {\n${body(3)}\n};`,
    `class A {\n  method(): void {\n    let x = 0;\n${body(90)}\n  }\n}`,
    `[1].map((v) => {\n  let x = v;\n${body(85)}\n});`,
  ].join('\n');
  const found = longFunctionsIn('x.ts', text, 80).map((f) => [f.name, f.lines]);
  expect(found).toEqual([['long', 84], ['method', 93], ['(argument of [1].map)', 88]]);
});

it('src/ has no function over 80 lines but the hot loops listed here', () => {
  const over = longFunctions(root, 'src', 80)
    .filter((f) => !(`${f.file} ${f.name}` in ALLOWED))
    .map((f) => `${f.file}:${f.line} ${f.name} (${f.lines} lines)`);
  expect(over, 'split these into named steps, or list a hot loop in ALLOWED with its reason').toEqual([]);
});
