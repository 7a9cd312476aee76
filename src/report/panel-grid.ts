/**
 * Small multiples as one Vega chart: a grid of panels that share an `x` and a `y` scale, drawn by one set of marks
 * (every datum carries its panel's offset `ox`, `oy`) instead of a facet. Vega builds a dataflow per facet cell,
 * which with a hundred panels costs seconds; one set of marks costs a fraction of that. The grid draws the frames,
 * the y grid lines, tick labels, panel titles and axis titles; a chart adds its own data and marks.
 */
import type { Spec as VegaSpec } from 'vega';
import { CHART_CONFIG } from './svg.js';

const VEGA_SCHEMA = 'https://vega.github.io/schema/vega/v6.json';

/** Panel geometry, in pixels: the plot area and the room around it for tick labels and the titles. */
export const PANEL = { width: 200, height: 120, left: 50, right: 14, top: 18, bottom: 38 } as const;
const LEGEND_HEIGHT = 26;

export interface GridPanel {
  /** Shown above the panel. */
  readonly label: string;
  readonly xTitle: string;
  readonly yTitle: string;
  /** Tick labels under the panel, at positions on the `x` scale. */
  readonly xTicks: readonly { readonly at: number; readonly text: string }[];
}

export interface GridOptions {
  readonly columns: number;
  readonly xDomain: readonly [number, number];
  /** Tick values on the y axis (domain [0, 1]), with their d3 format. */
  readonly yTicks: readonly number[];
  readonly yFormat: string;
  /** The `color` scale of the chart's series. */
  readonly colors: { readonly domain: readonly string[]; readonly range: readonly string[] };
  /** Whether to draw the colour legend on top. */
  readonly legend: boolean;
}

/** Where panel i is drawn: the top-left corner of its plot area. */
export interface PanelOffset {
  readonly ox: number;
  readonly oy: number;
}

export interface PanelGrid {
  readonly offsets: readonly PanelOffset[];
  /** A whole Vega spec: the grid, with `data` and `marks` added on top of it. */
  spec(data: readonly Record<string, unknown>[], marks: readonly Record<string, unknown>[]): VegaSpec;
}

/** An encoding of a field on the `x` or `y` scale inside its datum's panel. */
export function inPanel(scale: 'x' | 'y', field: string): Record<string, unknown> {
  return { scale, field, offset: { field: scale === 'x' ? 'ox' : 'oy' } };
}

export function panelGrid(panels: readonly GridPanel[], o: GridOptions): PanelGrid {
  const cellWidth = PANEL.left + PANEL.width + PANEL.right;
  const cellHeight = PANEL.top + PANEL.height + PANEL.bottom;
  const top = o.legend ? LEGEND_HEIGHT : 0;
  const offsets = panels.map((_, i) => ({ ox: (i % o.columns) * cellWidth + PANEL.left, oy: top + Math.floor(i / o.columns) * cellHeight + PANEL.top }));
  const frames = panels.map((p, i) => ({ ...offsets[i], label: p.label, xTitle: p.xTitle, yTitle: p.yTitle }));
  const xTicks = panels.flatMap((p, i) => p.xTicks.map((t) => ({ ...offsets[i], at: t.at, text: t.text })));
  const yTicks = offsets.flatMap((off) => o.yTicks.map((v) => ({ ...off, v })));
  const text = { fontSize: { value: 10 }, fill: { value: CHART_CONFIG.axis.labelColor } };
  const title = { ...text, fontSize: { value: 11 }, fontWeight: { value: 'bold' }, fill: { value: CHART_CONFIG.axis.titleColor } };
  const gridMarks = [
    {
      type: 'rect',
      from: { data: 'frames' },
      encode: { enter: { x: { field: 'ox' }, y: { field: 'oy' }, width: { value: PANEL.width }, height: { value: PANEL.height }, stroke: { value: CHART_CONFIG.view.stroke }, fill: { value: '#fff' } } },
    },
    {
      type: 'rule',
      from: { data: 'yticks' },
      encode: { enter: { x: { field: 'ox' }, x2: { field: 'ox', offset: PANEL.width }, y: inPanel('y', 'v'), stroke: { value: CHART_CONFIG.axis.gridColor } } },
    },
    {
      type: 'text',
      from: { data: 'yticks' },
      encode: { enter: { x: { field: 'ox', offset: -4 }, y: inPanel('y', 'v'), text: { signal: `format(datum.v, ${JSON.stringify(o.yFormat)})` }, align: { value: 'right' }, baseline: { value: 'middle' }, ...text } },
    },
    {
      type: 'text',
      from: { data: 'xticks' },
      encode: { enter: { x: inPanel('x', 'at'), y: { field: 'oy', offset: PANEL.height + 3 }, text: { field: 'text' }, align: { value: 'center' }, baseline: { value: 'top' }, ...text } },
    },
    {
      type: 'text',
      from: { data: 'frames' },
      encode: { enter: { x: { field: 'ox', offset: PANEL.width / 2 }, y: { field: 'oy', offset: -5 }, text: { field: 'label' }, align: { value: 'center' }, limit: { value: PANEL.width + PANEL.right }, ...text } },
    },
    {
      type: 'text',
      from: { data: 'frames' },
      encode: { enter: { x: { field: 'ox', offset: PANEL.width / 2 }, y: { field: 'oy', offset: PANEL.height + 16 }, text: { field: 'xTitle' }, align: { value: 'center' }, baseline: { value: 'top' }, ...title } },
    },
    {
      type: 'text',
      from: { data: 'frames' },
      encode: {
        enter: { x: { field: 'ox', offset: -34 }, y: { field: 'oy', offset: PANEL.height / 2 }, text: { field: 'yTitle' }, angle: { value: -90 }, align: { value: 'center' }, baseline: { value: 'bottom' }, ...title },
      },
    },
  ];
  const rows = Math.ceil(panels.length / o.columns);
  return {
    offsets,
    spec: (data, marks) =>
      ({
        $schema: VEGA_SCHEMA,
        width: Math.max(1, Math.min(panels.length, o.columns)) * cellWidth,
        height: top + rows * cellHeight,
        padding: 4,
        autosize: 'none',
        config: { text: { font: CHART_CONFIG.font }, legend: { labelFont: CHART_CONFIG.font } },
        data: [{ name: 'frames', values: frames }, { name: 'xticks', values: xTicks }, { name: 'yticks', values: yTicks }, ...data],
        scales: [
          { name: 'x', type: 'linear', domain: [...o.xDomain], range: [0, PANEL.width], zero: false, nice: false },
          { name: 'y', type: 'linear', domain: [0, 1], range: [PANEL.height, 0], zero: false, nice: false },
          { name: 'color', type: 'ordinal', domain: [...o.colors.domain], range: [...o.colors.range] },
        ],
        ...(o.legend && {
          legends: [{ fill: 'color', orient: 'none', legendX: PANEL.left, legendY: 2, direction: 'horizontal', symbolType: 'circle', labelLimit: 400, labelFontSize: 11 }],
        }),
        marks: [...gridMarks, ...marks],
      }) as unknown as VegaSpec,
  };
}
