/**
 * The Vega-Lite specs of the report pages, from the core's numbers. Each function returns one chart; the learning
 * curves of all concepts are one faceted chart (one dataflow, much faster to render than a chart per concept).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { CalibrationBin, CurvePoint } from '../bkt/index.js';

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

/** Small multiples, one panel per concept in the order given: observed error rate with 95% interval, model, students. */
export function learningCurvesSpec(panels: readonly CurvePanel[], maxOpportunity: number, columns = 5, legend = true): TopLevelSpec {
  const values: Record<string, unknown>[] = [];
  for (const panel of panels) {
    const first = panel.points[0]?.students ?? 1;
    for (const p of panel.points) {
      values.push({
        panel: panel.label,
        series: panel.standsOut ? SERIES[1] : SERIES[0],
        opportunity: p.opportunity,
        students: p.students,
        share: p.students / first,
        error: p.errorRate,
        low: p.low,
        high: p.high,
        predicted: p.predictedErrorRate,
      });
    }
  }
  const x = { field: 'opportunity', type: 'quantitative', scale: { domain: [0.5, maxOpportunity + 0.5], nice: false }, axis: { title: 'opportunity', tickMinStep: 1, format: 'd' } } as const;
  const y = { type: 'quantitative', scale: { domain: [0, 1] }, axis: { title: 'error rate', format: '.0%' } } as const;
  const color = { scale: { domain: SERIES, range: SERIES_COLORS }, legend: legend ? { title: null, orient: 'top', direction: 'horizontal', labelLimit: 400 } : null } as const;
  return {
    $schema: SCHEMA,
    data: { values },
    columns,
    facet: { field: 'panel', type: 'nominal', sort: panels.map((p) => p.label), header: { title: null, labelFontSize: 10, labelLimit: 270 } },
    spec: {
      width: 200,
      height: 120,
      layer: [
        { mark: { type: 'bar', width: 5, opacity: 0.8 }, encoding: { x, y: { ...y, field: 'share' }, color: { ...color, datum: SERIES[3] } } },
        { mark: { type: 'rule' }, encoding: { x, y: { ...y, field: 'low' }, y2: { field: 'high' }, color: { ...color, field: 'series' } } },
        { mark: { type: 'circle', size: 22, opacity: 1 }, encoding: { x, y: { ...y, field: 'error' }, color: { ...color, field: 'series' } } },
        {
          transform: [{ filter: 'datum.predicted != null' }],
          mark: { type: 'line', strokeWidth: 1.5, strokeDash: [4, 2] },
          encoding: { x, y: { ...y, field: 'predicted' }, color: { ...color, datum: SERIES[2] } },
        },
      ],
    },
    resolve: { axis: { x: 'independent', y: 'independent' } },
  } as unknown as TopLevelSpec;
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

export interface RankedValue {
  readonly id: string;
  readonly parameter: string;
  readonly value: number;
}

/** Per-value parameters (e.g. guess and slip per item), each parameter's values ranked: one dot per value. */
export function rankedValuesSpec(values: readonly RankedValue[]): TopLevelSpec {
  const rows: Record<string, unknown>[] = [];
  const byParameter = new Map<string, RankedValue[]>();
  for (const v of values) byParameter.set(v.parameter, [...(byParameter.get(v.parameter) ?? []), v]);
  for (const [parameter, list] of byParameter) {
    [...list].sort((a, b) => a.value - b.value).forEach((v, i) => rows.push({ parameter, id: v.id, rank: (i + 1) / list.length, value: v.value }));
  }
  return {
    $schema: SCHEMA,
    width: 300,
    height: 180,
    data: { values: rows },
    mark: { type: 'circle', size: 14, opacity: 0.7 },
    encoding: {
      column: { field: 'parameter', type: 'nominal', header: { title: null } },
      x: { field: 'rank', type: 'quantitative', axis: { title: 'rank (share of values)', format: '.0%' }, scale: { domain: [0, 1] } },
      y: { field: 'value', type: 'quantitative', scale: { domain: [0, 1] }, axis: { title: 'value' } },
      color: { value: COLORS.observed },
    },
  } as unknown as TopLevelSpec;
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
