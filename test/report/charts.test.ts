/** The learning curves' Vega spec: ticks, one set of marks for every panel, each panel at its own place. */
import { describe, expect, it } from 'vitest';
import type { CurvePoint } from '../../src/bkt/index.js';
import { learningCurvesSpec, opportunityTicks } from '../../src/report/charts.js';
import { renderSvg } from '../../src/report/svg.js';

function curve(n: number, errorRate: number): CurvePoint[] {
  return Array.from({ length: n }, (_, k) => ({ opportunity: k + 1, students: 50 - k, errorRate, low: errorRate - 0.1, high: errorRate + 0.1, predictedErrorRate: errorRate }));
}

describe('learning curves chart', () => {
  it('ticks the opportunity axis with whole numbers, at most about six', () => {
    expect(opportunityTicks(3)).toEqual([1, 2, 3]);
    expect(opportunityTicks(20)).toEqual([5, 10, 15, 20]);
    expect(opportunityTicks(200)).toEqual([50, 100, 150, 200]);
    for (let max = 1; max <= 1000; max++) {
      const ticks = opportunityTicks(max);
      expect(ticks.length).toBeGreaterThan(0);
      expect(ticks.length).toBeLessThanOrEqual(6);
      expect(ticks.every((t) => Number.isInteger(t) && t >= 1 && t <= max)).toBe(true);
    }
  });

  it('draws every panel in one chart: one dot and one interval per point, a title per panel', async () => {
    const panels = [
      { label: 'falls', standsOut: false, points: curve(4, 0.3) },
      { label: 'flat', standsOut: true, points: curve(3, 0.5) },
      { label: 'third', standsOut: false, points: curve(5, 0.2) },
    ];
    const svg = await renderSvg(learningCurvesSpec(panels, 5, 2));
    const group = (mark: string) => new RegExp(`<g class="mark-${mark} role-mark"[^>]*>(.*?)</g>`, 'g');
    const symbols = [...svg.matchAll(group('symbol'))].map((m) => m[1].match(/<path /g)?.length ?? 0);
    expect(symbols).toEqual([12]);
    const rules = [...svg.matchAll(group('rule'))].map((m) => m[1].match(/<line /g)?.length ?? 0);
    expect(rules).toEqual([3 * 3, 12]); // the grid (3 lines per panel), then one interval per point
    for (const label of ['falls', 'flat', 'third']) expect(svg).toContain(`>${label}</text>`);
    // The flat curve's dots are drawn in the "stands out" colour, the others not.
    expect(svg.match(/fill="#b3261e"/g)?.length).toBe(3 + 1); // three dots and the legend's symbol
  });

  it('places each panel in its own cell: panels of a row side by side, the next row below', () => {
    const spec = learningCurvesSpec([0, 1, 2].map((i) => ({ label: `c${i}`, standsOut: false, points: curve(2, 0.4) })), 5, 2) as {
      data: { name: string; values?: { ox: number; oy: number }[] }[];
    };
    const frames = spec.data.find((d) => d.name === 'frames')!.values!;
    expect(frames[1].ox).toBeGreaterThan(frames[0].ox);
    expect(frames[1].oy).toBe(frames[0].oy);
    expect(frames[2].ox).toBe(frames[0].ox);
    expect(frames[2].oy).toBeGreaterThan(frames[0].oy);
  });
});
