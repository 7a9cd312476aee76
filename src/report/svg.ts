/**
 * Vega-Lite specs to SVG text without a browser: compiled to Vega, run headless (renderer 'none') and serialised by
 * Vega's SVG string renderer. The SVG goes into the page inline; it needs no script and no font download.
 * Vega and Vega-Lite are loaded on first use: every `bkt` command loads this module, and loading them costs about
 * a second and 25 MB.
 */
import type { Spec as VegaSpec } from 'vega';
import type { TopLevelSpec } from 'vega-lite';

/** A chart to draw: a Vega-Lite spec, or a Vega spec (told apart by `$schema`, as vega-embed does). */
export type ChartSpec = TopLevelSpec | VegaSpec;

function isVegaSpec(spec: ChartSpec): spec is VegaSpec {
  return typeof spec.$schema === 'string' && spec.$schema.includes('/schema/vega/');
}

/** Shared look: the page's font stack, no ARIA per mark (the tables beside the charts hold the numbers). */
export const CHART_CONFIG = {
  font: 'system-ui, "DejaVu Sans", sans-serif',
  aria: false,
  view: { stroke: '#d9dee5' },
  axis: { labelColor: '#1d2430', titleColor: '#1d2430', gridColor: '#eef1f5' },
} as const;

/** Renders one chart to an SVG element (a string starting with <svg). */
export async function renderSvg(spec: ChartSpec): Promise<string> {
  const vega = await import('vega');
  const compiled = isVegaSpec(spec) ? spec : await compileLite(spec);
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
  try {
    const svg = await view.toSVG();
    // The string renderer writes no role; name the chart for assistive technology and for tests.
    return svg.replace(/^<svg /, '<svg role="img" ');
  } finally {
    view.finalize();
  }
}

async function compileLite(spec: TopLevelSpec): Promise<VegaSpec> {
  const { compile } = await import('vega-lite');
  return compile({ ...spec, config: { ...CHART_CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec).spec;
}
