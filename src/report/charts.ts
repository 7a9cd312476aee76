/**
 * The Vega-Lite specs of the report pages, from the core's numbers. Each function returns one chart; the learning
 * curves of all concepts are one faceted chart (one dataflow, much faster to render than a chart per concept).
 */
import type { Spec as VegaSpec } from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import type { CalibrationBin, CurvePoint } from '../bkt/index.js';
import { inPanel, PANEL, panelGrid } from './panel-grid.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
export const COLORS = { observed: '#1f5fa8', standsOut: '#b3261e', predicted: '#e07b00', students: '#c9cfd8', fallback: '#7a7f87' };

export interface CurvePanel {
  /** Shown above the panel: a concept id, with a marker when the curve stands out. */
  readonly label: string;
  readonly standsOut: boolean;
  readonly points: readonly CurvePoint[];
}

const SERIES = ['observed error rate', 'observed (curve stands out)', 'predicted error rate', 'students (share of opportunity 1)'];
const SERIES_COLORS = [COLORS.observed, COLORS.standsOut, COLORS.predicted, COLORS.students];

/** Ticks for the opportunity axis: whole numbers at a step of 1, 2 or 5 times a power of ten, at most about six. */
export function opportunityTicks(maxOpportunity: number): number[] {
  let step = 1;
  for (let k = 1; maxOpportunity / step > 6; k++) step = [1, 2, 5][k % 3] * 10 ** Math.floor(k / 3);
  const ticks: number[] = [];
  for (let t = step === 1 ? 1 : step; t <= maxOpportunity; t += step) ticks.push(t);
  return ticks;
}

/**
 * Small multiples, one panel per concept in the order given: observed error rate with 95% interval, model, students.
 * One Vega chart with one set of marks for all panels (see panel-grid.ts).
 */
export function learningCurvesSpec(panels: readonly CurvePanel[], maxOpportunity: number, columns = 5, legend = true): VegaSpec {
  const xTicks = opportunityTicks(maxOpportunity).map((t) => ({ at: t, text: String(t) }));
  const grid = panelGrid(
    panels.map((p) => ({ label: p.label, xTitle: 'opportunity', yTitle: 'error rate', xTicks })),
    { columns, xDomain: [0.5, maxOpportunity + 0.5], yTicks: [0, 0.5, 1], yFormat: '.0%', colors: { domain: SERIES, range: SERIES_COLORS }, legend },
  );
  const points: Record<string, unknown>[] = [];
  const predicted: Record<string, unknown>[] = [];
  panels.forEach((panel, i) => {
    const { ox, oy } = grid.offsets[i];
    const first = panel.points[0]?.students ?? 1;
    const series = panel.standsOut ? SERIES[1] : SERIES[0];
    for (const p of panel.points) {
      points.push({ ox, oy, series, opportunity: p.opportunity, share: p.students / first, error: p.errorRate, low: p.low, high: p.high });
      predicted.push({ ox, oy, opportunity: p.opportunity, predicted: p.predictedErrorRate });
    }
    // A gap between panels: the one line mark breaks at undefined points.
    predicted.push({ ox, oy, opportunity: maxOpportunity, predicted: null });
  });
  return grid.spec(
    [
      { name: 'points', values: points },
      { name: 'predicted', values: predicted },
    ],
    [
      {
        type: 'rect',
        from: { data: 'points' },
        encode: {
          enter: {
            xc: inPanel('x', 'opportunity'), width: { value: 5 }, y: inPanel('y', 'share'), y2: { scale: 'y', value: 0, offset: { field: 'oy' } },
            fill: { value: COLORS.students }, opacity: { value: 0.8 },
          },
        },
      },
      {
        type: 'rule',
        from: { data: 'points' },
        encode: { enter: { x: inPanel('x', 'opportunity'), y: inPanel('y', 'low'), y2: inPanel('y', 'high'), stroke: { scale: 'color', field: 'series' } } },
      },
      {
        type: 'symbol',
        from: { data: 'points' },
        encode: { enter: { x: inPanel('x', 'opportunity'), y: inPanel('y', 'error'), size: { value: 22 }, shape: { value: 'circle' }, fill: { scale: 'color', field: 'series' } } },
      },
      {
        type: 'line',
        from: { data: 'predicted' },
        encode: {
          enter: {
            x: inPanel('x', 'opportunity'), y: inPanel('y', 'predicted'), defined: { signal: 'datum.predicted != null' },
            stroke: { value: COLORS.predicted }, strokeWidth: { value: 1.5 }, strokeDash: { value: [4, 2] },
          },
        },
      },
    ],
  );
}

export interface ParameterPoint {
  readonly concept: string;
  readonly parameter: string;
  readonly value: number;
  /** 'fitted', 'flagged' (own fit, with a flag) or 'fallback' (predictions use the fallback). */
  readonly status: 'fitted' | 'flagged' | 'fallback';
}

const STATUS = ['fitted', 'flagged', 'fallback'];
const STATUS_COLORS = [COLORS.observed, COLORS.standsOut, COLORS.fallback];

/** One row per parameter, one tick per concept, coloured by status; the median as a black tick. */
export function parameterStripSpec(points: readonly ParameterPoint[], parameters: readonly string[]): TopLevelSpec {
  return {
    $schema: SCHEMA,
    width: 640,
    height: { step: 34 },
    data: { values: points as unknown as Record<string, unknown>[] },
    layer: [
      {
        mark: { type: 'tick', thickness: 2, opacity: 0.75 },
        encoding: {
          x: { field: 'value', type: 'quantitative', scale: { domain: [0, 1] }, axis: { title: 'fitted value' } },
          y: { field: 'parameter', type: 'nominal', sort: [...parameters], axis: { title: null } },
          color: { field: 'status', type: 'nominal', scale: { domain: STATUS, range: STATUS_COLORS }, legend: { title: 'concept', orient: 'top' } },
        },
      },
      {
        mark: { type: 'tick', color: '#000', thickness: 3, size: 24 },
        encoding: {
          x: { aggregate: 'median', field: 'value', type: 'quantitative' },
          y: { field: 'parameter', type: 'nominal', sort: [...parameters] },
        },
      },
    ],
  } as unknown as TopLevelSpec;
}

/** The per-value parameters' series and their colours. */
export const PER_VALUE_SERIES = ['guess', 'slip', 'learn', 'forget', 'prior'] as const;
const PER_VALUE_COLORS = [COLORS.observed, COLORS.standsOut, '#2e7d32', COLORS.fallback, '#6a3d9a'];

export interface PerValuePanel {
  readonly label: string;
  /** What the rank orders, e.g. "item_id, hardest first". */
  readonly xTitle: string;
  /** Each series' values in rank order (all the same length), with the concept's own value drawn as a dashed line. */
  readonly series: readonly { readonly name: (typeof PER_VALUE_SERIES)[number]; readonly values: readonly number[]; readonly own: number }[];
}

/** Per-value parameters, one panel per concept and variant: each value's estimates at its rank, and the concept's own. */
export function perValueSpec(panels: readonly PerValuePanel[], columns = 3): VegaSpec {
  const grid = panelGrid(
    panels.map((p) => {
      const n = p.series[0]?.values.length ?? 0;
      const xTicks = n === 0 ? [] : n === 1 ? [{ at: 0.5, text: '1' }] : [{ at: 0.5 / n, text: '1' }, { at: (n - 0.5) / n, text: String(n) }];
      return { label: p.label, xTitle: p.xTitle, yTitle: 'value', xTicks };
    }),
    { columns, xDomain: [0, 1], yTicks: [0, 0.5, 1], yFormat: '.1f', colors: { domain: PER_VALUE_SERIES, range: PER_VALUE_COLORS }, legend: true },
  );
  const points: Record<string, unknown>[] = [];
  const own: Record<string, unknown>[] = [];
  panels.forEach((panel, i) => {
    const { ox, oy } = grid.offsets[i];
    for (const s of panel.series) {
      const n = s.values.length;
      s.values.forEach((value, r) => points.push({ ox, oy, series: s.name, at: (r + 0.5) / n, value }));
      own.push({ ox, oy, series: s.name, value: s.own });
    }
  });
  return grid.spec(
    [
      { name: 'points', values: points },
      { name: 'own', values: own },
    ],
    [
      {
        type: 'rule',
        from: { data: 'own' },
        encode: { enter: { x: { field: 'ox' }, x2: { field: 'ox', offset: PANEL.width }, y: inPanel('y', 'value'), stroke: { scale: 'color', field: 'series' }, strokeDash: { value: [4, 3] } } },
      },
      {
        type: 'symbol',
        from: { data: 'points' },
        encode: { enter: { x: inPanel('x', 'at'), y: inPanel('y', 'value'), size: { value: 20 }, shape: { value: 'circle' }, fill: { scale: 'color', field: 'series' }, opacity: { value: 0.75 } } },
      },
    ],
  );
}

/** Mean predicted P(correct) against observed correct rate per bin, with 95% intervals and the diagonal. */
export function calibrationSpec(bins: readonly CalibrationBin[]): TopLevelSpec {
  const axis = (title: string) => ({ type: 'quantitative', scale: { domain: [0, 1] }, axis: { title, format: '.0%' } }) as const;
  return {
    $schema: SCHEMA,
    width: 320,
    height: 320,
    layer: [
      {
        data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
        mark: { type: 'line', color: '#9aa1ab', strokeDash: [3, 3] },
        encoding: { x: { ...axis('mean predicted P(correct)'), field: 'x' }, y: { ...axis('observed correct rate'), field: 'y' } },
      },
      {
        data: { values: bins as unknown as Record<string, unknown>[] },
        layer: [
          { mark: { type: 'rule', color: COLORS.observed }, encoding: { x: { field: 'meanPredicted', type: 'quantitative' }, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } } },
          { mark: { type: 'circle', size: 50, color: COLORS.observed, opacity: 1 }, encoding: { x: { field: 'meanPredicted', type: 'quantitative' }, y: { field: 'observed', type: 'quantitative' } } },
        ],
      },
    ],
  } as unknown as TopLevelSpec;
}

export interface MasteryCell {
  readonly concept: string;
  readonly lower: number;
  readonly upper: number;
  readonly share: number;
  readonly students: number;
}

/** A heat map: one row per concept, the share of its students in each band of P(known). */
export function masteryHeatmapSpec(cells: readonly MasteryCell[], concepts: readonly string[]): TopLevelSpec {
  return {
    $schema: SCHEMA,
    width: 520,
    height: { step: 16 },
    data: { values: cells as unknown as Record<string, unknown>[] },
    mark: { type: 'rect' },
    encoding: {
      x: { field: 'lower', type: 'quantitative', scale: { domain: [0, 1] }, axis: { title: 'P(known)', format: '.0%' } },
      x2: { field: 'upper' },
      y: { field: 'concept', type: 'nominal', sort: [...concepts], axis: { title: null, labelLimit: 300 } },
      color: { field: 'share', type: 'quantitative', scale: { scheme: 'blues', domain: [0, 1] }, legend: { title: 'share of students', format: '.0%' } },
    },
  } as unknown as TopLevelSpec;
}
