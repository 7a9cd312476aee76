/** The CLI's count formatting gives what toLocaleString('en-US') gives for whole numbers, without Intl. */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { count } from '../../src/cli/options.js';

const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);

it('formats whole numbers as toLocaleString("en-US") does', () => {
  for (const n of [0, 7, 999, 1000, -1000, 683801, 1234567890, Number.MAX_SAFE_INTEGER]) expect(count(n)).toBe(n.toLocaleString('en-US'));
  fc.assert(
    fc.property(fc.maxSafeInteger(), (n) => count(n) === n.toLocaleString('en-US')),
    { numRuns: 2000, ...(seed === undefined ? {} : { seed }) },
  );
});
