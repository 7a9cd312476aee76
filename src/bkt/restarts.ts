/**
 * Starting points of EM. Restart 0 starts at the story defaults; restart r > 0 draws from a PRNG seeded by
 * (seed, concept id, r) alone, so results do not depend on thread count or on the order concepts are fitted in.
 * Models with per-value parameters make several short runs per restart, each from a start of its own.
 */
import { type BktParams, DEFAULT_PARAMS } from './params.js';
import { type FitOptions, upperLimit } from './options.js';

/** 32-bit FNV-1a over the UTF-16 code units of a string. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Murmur3's finaliser: spreads every input bit over the output. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** A small, well-tested generator (sfc32) returning uniform doubles in [0, 1). */
export function makeRandom(seed: number, key: string, stream: number): () => number {
  let a = mix32(seed ^ 0x9e3779b9);
  let b = mix32(hashString(key));
  let c = mix32(stream + 0x6a09e667);
  let d = 1;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next(); // let the state mix before the first draw
  return next;
}

/** The EM starting point of restart `r` for a concept (before projection into the allowed box). */
export function restartStart(o: FitOptions, conceptId: string, r: number): BktParams {
  if (r === 0) return DEFAULT_PARAMS;
  return drawStart(o, makeRandom(o.seed, conceptId, r));
}

/**
 * The starting point of short run `j` of restart `r` (models with per-value parameters: see em-variants.ts's
 * runEmByValue). Run 0 is the restart's own start, so one short run is the plain restart; run j > 0 draws from its
 * own stream, seeded by (seed, concept id, j, r) alone.
 */
export function shortRunStart(o: FitOptions, conceptId: string, r: number, j: number): BktParams {
  return j === 0 ? restartStart(o, conceptId, r) : drawStart(o, makeRandom(o.seed, `${conceptId}\u0000${j}`, r));
}

function drawStart(o: FitOptions, rand: () => number): BktParams {
  // Always draw all five in this order, so fixing one parameter leaves the others' draws unchanged.
  const prior = rand();
  const learn = 0.4 * rand();
  const guess = Math.min(0.4, upperLimit(o, 'guess')) * rand();
  const slip = Math.min(0.3, upperLimit(o, 'slip')) * rand();
  const forget = 0.1 * rand();
  return { prior, learn, guess, slip, forget: o.fitForget ? forget : 0 };
}

/** The random source of a concept's kicks (see em-variants.ts's kickByValue), seeded by (seed, concept id) alone. */
export function kickRandom(o: FitOptions, conceptId: string): () => number {
  return makeRandom(o.seed, `${conceptId}\u0001kicks`, 0);
}
