/**
 * Rendering several charts at once on worker threads. Vega runs one chart on one thread, and a report's learning
 * curves are most of its time, so the CLI splits them into a few charts and renders them side by side. Workers
 * are started early (`startRenderers`), so that loading and warming up Vega overlaps with reading the CSV.
 */
import { Worker } from 'node:worker_threads';
import type { TopLevelSpec } from 'vega-lite';
import type { RenderReply } from './render-worker.js';
import { renderSvg } from './svg.js';

/** Renders specs to SVG strings, in order. */
export type Renderer = (specs: readonly TopLevelSpec[]) => Promise<string[]>;

/** On the calling thread, one after the other. */
export const renderInThread: Renderer = async (specs) => {
  const out: string[] = [];
  for (const s of specs) out.push(await renderSvg(s));
  return out;
};

// A tiny chart each worker renders first, so its first real chart runs on warm code.
const WARM_UP = { data: { values: [{ x: 1, y: 0.5 }] }, mark: 'point', encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } } } as TopLevelSpec;

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
  const send = (w: Worker, spec: TopLevelSpec): Promise<string> =>
    new Promise((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      w.postMessage({ id, spec });
    });
  for (const w of workers) void send(w, WARM_UP).catch(() => {});
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
