/**
 * Rendering charts on worker threads, started early (`startRenderers`) so that loading Vega (about half a second)
 * and warming it up on small charts of the same kinds overlaps with reading the CSV. With more than one worker,
 * charts render side by side.
 */
import { Worker } from 'node:worker_threads';
import type { RenderReply } from './render-worker.js';
import { learningCurvesSpec } from './charts.js';
import { type ChartSpec, renderSvg } from './svg.js';

/** Renders specs to SVG strings, in order. */
export type Renderer = (specs: readonly ChartSpec[]) => Promise<string[]>;

/** On the calling thread, one after the other. */
export const renderInThread: Renderer = async (specs) => {
  const out: string[] = [];
  for (const s of specs) out.push(await renderSvg(s));
  return out;
};

// Tiny charts each worker renders first, so that its first real charts run on warm code: a Vega-Lite chart and
// the learning curves' Vega spec.
const WARM_UP: readonly ChartSpec[] = [
  { data: { values: [{ x: 1, y: 0.5 }] }, mark: 'point', encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } } },
  learningCurvesSpec(
    [1, 2].map((i) => ({
      label: `warm-up ${i}`,
      standsOut: i === 2,
      points: [1, 2, 3].map((opportunity) => ({ opportunity, students: 20, errorRate: 0.25, low: 0.1, high: 0.5, predictedErrorRate: 0.3 })),
    })),
    3,
  ),
];

function startWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./render-worker.js', import.meta.url), { execArgv: [] });
  // From TypeScript source (tests, tsx): register tsx inside the worker first; loaders do not carry into workers.
  const source = new URL('./render-worker.ts', import.meta.url).href;
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); })`, { eval: true, execArgv: [] });
}

/** A pool of `threads` render workers, started now; `close()` ends them. */
export function startRenderers(threads: number): { render: Renderer; close: () => Promise<void> } {
  const workers = Array.from({ length: Math.max(1, threads) }, startWorker);
  let next = 0;
  const waiting = new Map<number, { resolve: (svg: string) => void; reject: (e: Error) => void }>();
  for (const w of workers) {
    w.on('message', (m: RenderReply) => {
      const p = waiting.get(m.id);
      waiting.delete(m.id);
      if ('svg' in m) p?.resolve(m.svg);
      else p?.reject(new Error(`chart rendering failed: ${m.error}`));
    });
    w.on('error', (e) => {
      for (const p of waiting.values()) p.reject(e);
      waiting.clear();
    });
  }
  const send = (w: Worker, spec: ChartSpec): Promise<string> =>
    new Promise((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      w.postMessage({ id, spec });
    });
  for (const w of workers) for (const spec of WARM_UP) void send(w, spec).catch(() => {});
  return {
    // Each spec goes to the worker with the fewest charts queued (specs come largest first from the caller).
    render: async (specs) => {
      const load = workers.map(() => 0);
      return Promise.all(
        specs.map((s) => {
          const i = load.indexOf(Math.min(...load));
          load[i]++;
          return send(workers[i], s);
        }),
      );
    },
    close: async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
