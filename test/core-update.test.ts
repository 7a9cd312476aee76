/** updateMastery and traceMastery: validation, the story's numbers, extremes, and trace = repeated updates. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  type BktParams, DEFAULT_PARAMS, initialState, makeParams, predictCorrect, traceMastery, updateMastery,
} from '../src/bkt/index.js';
import { TEST_SEED } from './support/seed.js';

const probability = (min = 0, max = 1) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
const params = fc.record<BktParams>({
  prior: probability(),
  learn: probability(),
  guess: probability(1e-9, 1 - 1e-9),
  slip: probability(1e-9, 1 - 1e-9),
  forget: probability(),
});
const answers = fc.array(fc.boolean(), { maxLength: 200 });

describe('parameters', () => {
  it.each([
    ['guess', 0], ['guess', 1], ['slip', 0], ['slip', 1.5], ['prior', -0.1], ['learn', 1.0001],
    ['forget', Number.NaN], ['prior', Number.POSITIVE_INFINITY],
  ] as const)('%s = %s is a RangeError naming it', (name, value) => {
    expect(() => makeParams({ [name]: value })).toThrow(RangeError);
    expect(() => makeParams({ [name]: value })).toThrow(new RegExp(`^${name} `));
    expect(() => updateMastery(initialState(DEFAULT_PARAMS), true, { ...DEFAULT_PARAMS, [name]: value })).toThrow(
      new RegExp(`^${name} `),
    );
  });

  it('accepts the closed ends for prior, learn and forget', () => {
    expect(makeParams({ prior: 0, learn: 1, forget: 1 })).toMatchObject({ prior: 0, learn: 1, forget: 1 });
  });

  it('rejects a state that is not a distribution', () => {
    expect(() => updateMastery({ known: 0.5, unknown: 0.6 }, true, DEFAULT_PARAMS)).toThrow(/state\.known \+ state\.unknown/);
    expect(() => updateMastery({ known: Number.NaN, unknown: 0.5 }, true, DEFAULT_PARAMS)).toThrow(/state\.known/);
  });
});

describe('the story', () => {
  it('a correct answer from the defaults gives P(L1) = 0.428571...', () => {
    // posterior = 0.1*0.9 / (0.1*0.9 + 0.9*0.25) = 0.2857142857; then + (1 - it) * 0.2
    const u = updateMastery(initialState(DEFAULT_PARAMS), true, DEFAULT_PARAMS);
    expect(u.pCorrect).toBeCloseTo(0.315, 15);
    expect(u.posterior).toBeCloseTo(0.09 / 0.315, 15);
    expect(u.masteryAfter).toBeCloseTo(0.09 / 0.315 + (1 - 0.09 / 0.315) * 0.2, 15);
    expect(u.state.known).toBe(u.masteryAfter);
  });

  it('a wrong answer from the defaults gives P(L1) = 0.2 + 0.8 * 0.01/0.685', () => {
    const u = updateMastery(initialState(DEFAULT_PARAMS), false, DEFAULT_PARAMS);
    const posterior = (0.1 * 0.1) / (0.1 * 0.1 + 0.9 * 0.75);
    expect(u.posterior).toBeCloseTo(posterior, 15);
    expect(u.masteryAfter).toBeCloseTo(posterior + (1 - posterior) * 0.2, 15);
    expect(u.mastered).toBe(false);
  });

  it('the defaults reach mastery (>= 0.95) at the 4th correct answer in a row, not before', () => {
    let state = initialState(DEFAULT_PARAMS);
    const levels: number[] = [];
    for (let i = 0; i < 5; i++) {
      const u = updateMastery(state, true, DEFAULT_PARAMS);
      levels.push(u.masteryAfter);
      expect(u.mastered).toBe(u.masteryAfter >= 0.95);
      state = u.state;
    }
    // 0.4286, 0.7838, 0.9394, 0.9868, ...
    expect(levels[2]).toBeLessThan(0.95);
    expect(levels[3]).toBeGreaterThanOrEqual(0.95);
  });

  it('mastered is recomputed at every answer, not sticky, and follows a configured threshold', () => {
    let state = initialState(DEFAULT_PARAMS);
    for (let i = 0; i < 4; i++) state = updateMastery(state, true, DEFAULT_PARAMS).state;
    const wrong = updateMastery(state, false, DEFAULT_PARAMS);
    expect(wrong.mastered).toBe(false);
    expect(updateMastery(state, true, DEFAULT_PARAMS, 0.999).mastered).toBe(false);
  });
});

describe('extremes never give NaN', () => {
  const run = (p: BktParams, first: boolean, n: number, last: boolean) => {
    let state = initialState(p);
    for (let i = 0; i < n; i++) state = updateMastery(state, first, p).state;
    return updateMastery(state, last, p);
  };
  const finiteInUnit = (u: ReturnType<typeof updateMastery>) => {
    for (const v of [u.pCorrect, u.masteryBefore, u.posterior, u.masteryAfter, u.state.known, u.state.unknown]) {
      expect(Number.isFinite(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
  };
  it('a wrong answer after 10,000 correct ones with slip 1e-6', () => {
    finiteInUnit(run(makeParams({ slip: 1e-6 }), true, 10_000, false));
    finiteInUnit(run(makeParams({ slip: 1e-6, learn: 0, forget: 0 }), true, 10_000, false));
  });
  it('a correct answer after 10,000 wrong ones with guess 1e-6', () => {
    finiteInUnit(run(makeParams({ guess: 1e-6, learn: 0 }), false, 10_000, true));
    finiteInUnit(run(makeParams({ guess: 1e-6 }), false, 10_000, true));
  });
  it('P(unknown) keeps its precision where P(L) alone would round to 1', () => {
    const p = makeParams({ learn: 0.01 });
    let state = initialState(p);
    for (let i = 0; i < 40; i++) state = updateMastery(state, true, p).state;
    expect(state.known).toBe(1); // float64 cannot tell P(L) from 1 here ...
    expect(state.unknown).toBeGreaterThan(0); // ... but the state still knows how far it is
    for (let i = 0; i < 30; i++) state = updateMastery(state, false, p).state;
    expect(state.known).toBeLessThan(0.5); // so wrong answers bring mastery down again
  });
});

describe('properties', () => {
  it('every output is a probability, and the state sums to 1', () => {
    fc.assert(
      fc.property(params, answers, (p, seq) => {
        let state = initialState(p);
        for (const a of seq) {
          const u = updateMastery(state, a, p);
          for (const v of [u.pCorrect, u.masteryBefore, u.posterior, u.masteryAfter]) {
            if (!(v >= 0 && v <= 1)) return false;
          }
          if (Math.abs(u.state.known + u.state.unknown - 1) > 1e-12) return false;
          if (Math.abs(u.pCorrect - predictCorrect(state, p)) > 0) return false;
          state = u.state;
        }
        return true;
      }),
      { seed: TEST_SEED, numRuns: 300 },
    );
  });

  it('traceMastery equals repeated updateMastery, bit for bit', () => {
    fc.assert(
      fc.property(params, fc.array(answers, { minLength: 1, maxLength: 8 }), (p, seqs) => {
        const responses = Uint8Array.from(seqs.flat(), (a) => (a ? 1 : 0));
        const offsets = Uint32Array.from([0, ...seqs.map((_, i) => seqs.slice(0, i + 1).flat().length)]);
        const n = responses.length;
        const out = {
          pCorrect: new Float64Array(n), masteryBefore: new Float64Array(n), posterior: new Float64Array(n),
          masteryAfter: new Float64Array(n), unknownAfter: new Float64Array(n), mastered: new Uint8Array(n),
          finalKnown: new Float64Array(seqs.length), finalUnknown: new Float64Array(seqs.length),
        };
        traceMastery(p, { responses, offsets }, out);
        let t = 0;
        return seqs.every((seq, s) => {
          let state = initialState(p);
          for (const a of seq) {
            const u = updateMastery(state, a, p);
            if (u.pCorrect !== out.pCorrect[t] || u.masteryBefore !== out.masteryBefore[t]) return false;
            if (u.posterior !== out.posterior[t] || u.masteryAfter !== out.masteryAfter[t]) return false;
            if (Number(u.mastered) !== out.mastered[t]) return false;
            if (u.state.known !== out.masteryAfter[t] || u.state.unknown !== out.unknownAfter[t]) return false;
            state = u.state;
            t++;
          }
          return state.known === out.finalKnown[s] && state.unknown === out.finalUnknown[s];
        });
      }),
      { seed: TEST_SEED, numRuns: 300 },
    );
  });
});
