/**
 * Vega-Lite specs to SVG text without a browser: compiled to Vega, run headless (renderer 'none') and serialised by
 * Vega's SVG string renderer. The SVG goes into the page inline; it needs no script and no font download.
 * Vega and Vega-Lite are loaded on first use: every `bkt` command loads this module, and loading them costs about
 * a second and 25 MB.
 */
import type { TopLevelSpec } from 'vega-lite';

/** Shared look: the page's font stack, no ARIA per mark (the tables beside the charts hold the numbers). */
export const CHART_CONFIG = {
  font: 'system-ui, "DejaVu Sans", sans-serif',
  aria: false,
  view: { stroke: '#d9dee5' },
  axis: { labelColor: '#1d2430', titleColor: '#1d2430', gridColor: '#eef1f5' },
} as const;

/** Renders one Vega-Lite spec to an SVG element (a string starting with <svg). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = compile({ ...spec, config: { ...CHART_CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
  try {
    const svg = await view.toSVG();
    // The string renderer writes no role; name the chart for assistive technology and for tests.
    return svg.replace(/^<svg /, '<svg role="img" ');
  } finally {
    view.finalize();
  }
}
