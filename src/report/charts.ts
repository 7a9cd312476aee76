/**
 * The Vega-Lite specs of the report pages, from the core's numbers. Each function returns one chart; the learning
 * curves of all concepts are one faceted chart (one dataflow, much faster to render than a chart per concept).
 */
import type { Spec as VegaSpec } from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import type { CalibrationBin, CurvePoint } from '../bkt/index.js';
import { CHART_CONFIG } from './svg.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const VEGA_SCHEMA = 'https://vega.github.io/schema/vega/v6.json';
export const COLORS = { observed: '#1f5fa8', standsOut: '#b3261e', predicted: '#e07b00', students: '#c9cfd8', fallback: '#7a7f87' };

export interface CurvePanel {
  /** Shown above the panel: a concept id, with a marker when the curve stands out. */
  readonly label: string;
  readonly standsOut: boolean;
  readonly points: readonly CurvePoint[];
}

const SERIES = ['observed error rate', 'observed (curve stands out)', 'predicted error rate', 'students (share of opportunity 1)'];
const SERIES_COLORS = [COLORS.observed, COLORS.standsOut, COLORS.predicted, COLORS.students];

// Panel geometry, in pixels: the plot area and the room around it for tick labels and the title.
const PANEL = { width: 200, height: 120, left: 50, right: 14, top: 18, bottom: 38 } as const;
const LEGEND_HEIGHT = 26;

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
 * One Vega chart with one set of marks for all panels (each datum carries its panel's offset), not a facet: Vega
 * builds a dataflow per facet cell, and with a hundred concepts that is most of a report's time.
 */
export function learningCurvesSpec(panels: readonly CurvePanel[], maxOpportunity: number, columns = 5, legend = true): VegaSpec {
  const cellWidth = PANEL.left + PANEL.width + PANEL.right;
  const cellHeight = PANEL.top + PANEL.height + PANEL.bottom;
  const top = legend ? LEGEND_HEIGHT : 0;
  const xTicks = opportunityTicks(maxOpportunity);
  const frames: Record<string, unknown>[] = [];
  const ticksX: Record<string, unknown>[] = [];
  const ticksY: Record<string, unknown>[] = [];
  const points: Record<string, unknown>[] = [];
  const predicted: Record<string, unknown>[] = [];
  panels.forEach((panel, i) => {
    const ox = (i % columns) * cellWidth + PANEL.left;
    const oy = top + Math.floor(i / columns) * cellHeight + PANEL.top;
    frames.push({ ox, oy, label: panel.label });
    for (const v of xTicks) ticksX.push({ ox, oy, v });
    for (const v of [0, 0.5, 1]) ticksY.push({ ox, oy, v });
    const first = panel.points[0]?.students ?? 1;
    const series = panel.standsOut ? SERIES[1] : SERIES[0];
    for (const p of panel.points) {
      points.push({ ox, oy, series, opportunity: p.opportunity, share: p.students / first, error: p.errorRate, low: p.low, high: p.high });
      predicted.push({ ox, oy, opportunity: p.opportunity, predicted: p.predictedErrorRate });
    }
    // A gap between panels: the one line mark breaks at undefined points.
    predicted.push({ ox, oy, opportunity: maxOpportunity, predicted: null });
  });
  const rows = Math.ceil(panels.length / columns);
  const inPanel = (scale: 'x' | 'y', field: string) => ({ scale, field, offset: { field: scale === 'x' ? 'ox' : 'oy' } });
  const text = { fontSize: { value: 10 }, fill: { value: '#1d2430' } };
  const title = { ...text, fontSize: { value: 11 }, fontWeight: { value: 'bold' } };
  return {
    $schema: VEGA_SCHEMA,
    width: Math.min(panels.length, columns) * cellWidth,
    height: top + rows * cellHeight,
    padding: 4,
    autosize: 'none',
    config: { text: { font: CHART_CONFIG.font } },
    data: [
      { name: 'frames', values: frames },
      { name: 'xticks', values: ticksX },
      { name: 'yticks', values: ticksY },
      { name: 'points', values: points },
      { name: 'predicted', values: predicted },
    ],
    scales: [
      { name: 'x', type: 'linear', domain: [0.5, maxOpportunity + 0.5], range: [0, PANEL.width], zero: false, nice: false },
      { name: 'y', type: 'linear', domain: [0, 1], range: [PANEL.height, 0], zero: false, nice: false },
      { name: 'color', type: 'ordinal', domain: SERIES, range: SERIES_COLORS },
    ],
    ...(legend && {
      legends: [{ fill: 'color', orient: 'none', legendX: PANEL.left, legendY: 2, direction: 'horizontal', symbolType: 'circle', labelLimit: 400, labelFontSize: 11 }],
    }),
    marks: [
      {
        type: 'rect',
        from: { data: 'frames' },
        encode: { enter: { x: { field: 'ox' }, y: { field: 'oy' }, width: { value: PANEL.width }, height: { value: PANEL.height }, stroke: { value: '#d9dee5' }, fill: { value: '#fff' } } },
      },
      {
        type: 'rule',
        from: { data: 'yticks' },
        encode: { enter: { x: { field: 'ox' }, x2: { field: 'ox', offset: PANEL.width }, y: { scale: 'y', field: 'v', offset: { field: 'oy' } }, stroke: { value: '#eef1f5' } } },
      },
      {
        type: 'text',
        from: { data: 'yticks' },
        encode: {
          enter: { x: { field: 'ox', offset: -4 }, y: { scale: 'y', field: 'v', offset: { field: 'oy' } }, text: { signal: "format(datum.v, '.0%')" }, align: { value: 'right' }, baseline: { value: 'middle' }, ...text },
        },
      },
      {
        type: 'text',
        from: { data: 'xticks' },
        encode: {
          enter: { x: { scale: 'x', field: 'v', offset: { field: 'ox' } }, y: { field: 'oy', offset: PANEL.height + 3 }, text: { field: 'v' }, align: { value: 'center' }, baseline: { value: 'top' }, ...text },
        },
      },
      {
        type: 'text',
        from: { data: 'frames' },
        encode: {
          enter: { x: { field: 'ox', offset: PANEL.width / 2 }, y: { field: 'oy', offset: -5 }, text: { field: 'label' }, align: { value: 'center' }, limit: { value: PANEL.width + PANEL.right }, ...text },
        },
      },
      {
        type: 'text',
        from: { data: 'frames' },
        encode: {
          enter: { x: { field: 'ox', offset: PANEL.width / 2 }, y: { field: 'oy', offset: PANEL.height + 16 }, text: { value: 'opportunity' }, align: { value: 'center' }, baseline: { value: 'top' }, ...title },
        },
      },
      {
        type: 'text',
        from: { data: 'frames' },
        encode: {
          enter: { x: { field: 'ox', offset: -34 }, y: { field: 'oy', offset: PANEL.height / 2 }, text: { value: 'error rate' }, angle: { value: -90 }, align: { value: 'center' }, baseline: { value: 'bottom' }, ...title },
        },
      },
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
  } as unknown as VegaSpec;
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
