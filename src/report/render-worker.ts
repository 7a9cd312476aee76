/** A worker thread that renders Vega-Lite specs to SVG (see render-pool.ts): one message in, one message out. */
import { parentPort } from 'node:worker_threads';
import type { ChartSpec } from './svg.js';
import { renderSvg } from './svg.js';

export interface RenderRequest {
  readonly id: number;
  readonly spec: ChartSpec;
}

export type RenderReply = { readonly id: number; readonly svg: string } | { readonly id: number; readonly error: string };

parentPort!.on('message', (m: RenderRequest) => {
  renderSvg(m.spec).then(
    (svg) => parentPort!.postMessage({ id: m.id, svg } satisfies RenderReply),
    (err: unknown) => parentPort!.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) } satisfies RenderReply),
  );
});
