/**
 * Finds when a kernel thread that stalls everyone ran, to tell its share of a latency tail from the service's own.
 *
 * Found on the benchmark machines: a DAMON monitor (`kdamond`, here with the `paddr` operations and a `pageout`
 * scheme) wakes every ~0.5 s and, under load, runs for 5-25 ms at a time (over 100 ms at worst); requests in flight
 * then stall for 20-40 ms, whatever they are (direct SQL or HTTP): enough to set p99 at 50% load. The probe samples the
 * thread's cumulative run time (/proc/PID/schedstat, exact whatever the timer jitter) every 2 ms and records each
 * burst of running as a window. Linux only; absent the thread, it records nothing and says so.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface Burst {
  readonly start: number;
  readonly end: number;
  /** CPU time the thread used in the window, ms. */
  readonly ranMs: number;
}

function findThreads(prefix: string): number[] {
  const pids: number[] = [];
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readFileSync(`/proc/${entry}/comm`, 'utf8').startsWith(prefix)) pids.push(Number(entry));
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    // no /proc
  }
  return pids;
}

/** The DAMON settings as the kernel's sysfs shows them, when it does. */
export function damonSettings(): string | undefined {
  const base = '/sys/kernel/mm/damon/admin/kdamonds/0';
  const read = (p: string) => readFileSync(`${base}/${p}`, 'utf8').trim();
  try {
    const state = read('state');
    const sample = Number(read('contexts/0/monitoring_attrs/intervals/sample_us')) / 1000;
    const aggr = Number(read('contexts/0/monitoring_attrs/intervals/aggr_us')) / 1000;
    const ops = read('contexts/0/operations');
    let actions: string[] = [];
    try {
      actions = readdirSync(`${base}/contexts/0/schemes`)
        .filter((d) => /^\d+$/.test(d))
        .map((d) => read(`contexts/0/schemes/${d}/action`));
    } catch {
      // no schemes
    }
    return `DAMON kdamond ${state}, operations ${ops}, sampling every ${sample} ms, aggregation ${aggr} ms, schemes [${actions.join(', ')}]`;
  } catch {
    return undefined;
  }
}

export class KernelStallProbe {
  readonly pids: number[];
  readonly windows: Burst[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(prefix = 'kdamond') {
    this.pids = findThreads(prefix);
  }

  #ran(): number {
    let ns = 0;
    for (const pid of this.pids) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // gone
      }
    }
    return ns / 1e6;
  }

  start(): void {
    if (this.pids.length === 0) return;
    let last = this.#ran();
    let lastAt = performance.now();
    let open: { start: number; ranMs: number; lastRunAt: number } | undefined;
    this.#timer = setInterval(() => {
      const now = performance.now();
      const ran = this.#ran();
      const delta = ran - last;
      if (delta > 0.2) {
        // It ran at some point since the previous sample.
        open ??= { start: lastAt, ranMs: 0, lastRunAt: now };
        open.ranMs += delta;
        open.lastRunAt = now;
      } else if (open && now - open.lastRunAt > 10) {
        this.windows.push({ start: open.start, end: open.lastRunAt, ranMs: open.ranMs });
        open = undefined;
      }
      last = ran;
      lastAt = now;
    }, 2);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Whether [start, end] overlaps a recorded window. */
  overlaps(start: number, end: number): boolean {
    // Windows are few (two a second) and in time order; a linear scan from the back is plenty.
    for (let i = this.windows.length - 1; i >= 0; i--) {
      const w = this.windows[i];
      if (w.end < start) return false;
      if (w.start <= end) return true;
    }
    return false;
  }
}
