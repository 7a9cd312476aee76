/**
 * Asymptotic standard errors of a fit: the inverse of the observed information (minus the Hessian of the
 * log-likelihood at the estimate, by central differences), for recovery tests whose tolerance should follow the
 * data's own precision rather than a fixed number.
 */
import { type BktParams, logLikelihood, type ParamName, type SequenceSet } from '../../src/bkt/index.js';

export function standardErrors(seqs: SequenceSet, at: BktParams, names: readonly ParamName[], h = 1e-4): Record<ParamName, number> {
  const n = names.length;
  const ll = (steps: readonly [number, number][]): number => {
    const p: Record<ParamName, number> = { ...at };
    for (const [i, d] of steps) p[names[i]] += d * h;
    return logLikelihood(seqs, p);
  };
  const f0 = ll([]);
  const info = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    info[i][i] = -(ll([[i, 1]]) - 2 * f0 + ll([[i, -1]])) / (h * h);
    for (let j = 0; j < i; j++) {
      const d = ll([[i, 1], [j, 1]]) - ll([[i, 1], [j, -1]]) - ll([[i, -1], [j, 1]]) + ll([[i, -1], [j, -1]]);
      info[i][j] = info[j][i] = -d / (4 * h * h);
    }
  }
  const cov = invert(info);
  return Object.fromEntries(names.map((name, i) => [name, Math.sqrt(cov[i][i])])) as Record<ParamName, number>;
}

/** Gauss-Jordan with partial pivoting; throws on a singular matrix (a parameter the data cannot identify). */
function invert(m: readonly number[][]): number[][] {
  const n = m.length;
  const a = m.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    if (!(Math.abs(a[p][c]) > 1e-12)) throw new Error('the observed information is singular');
    [a[c], a[p]] = [a[p], a[c]];
    const pivot = a[c][c];
    for (let k = 0; k < 2 * n; k++) a[c][k] /= pivot;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r][c];
      if (f !== 0) for (let k = 0; k < 2 * n; k++) a[r][k] -= f * a[c][k];
    }
  }
  return a.map((row) => row.slice(n));
}
