/**
 * CPU time spent during a stretch of a benchmark: this process (app and load generator, all threads) and every
 * PostgreSQL process of the local server (backends, WAL writer, autovacuum...). Divided by the requests served, it is
 * the cost of one request, a figure that holds still on a noisy machine where latency tails do not: a stall delays a
 * request but does not make it use more CPU.
 *
 * PostgreSQL processes are found by name in /proc and read from /proc/PID/schedstat (nanoseconds, one thread each);
 * a process that ends during the stretch is not counted. Linux only; elsewhere the database's share reads as 0.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** With `database`, only the server's backends connected to that database (their title names it). */
function serverTimes(prefix: string, database?: string): Map<number, number> {
  const times = new Map<number, number>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return times;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/comm`, 'utf8').startsWith(prefix)) continue;
      if (database !== undefined && !readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(` ${database} `)) continue;
      times.set(Number(entry), Number(readFileSync(`/proc/${entry}/schedstat`, 'utf8').split(' ')[0]) / 1e6);
    } catch {
      // gone meanwhile
    }
  }
  return times;
}

/** The sum of `read(file)` over the threads of process `pid`, for one file of /proc/PID/task/TID; 0 where unreadable. */
function sumOverThreads(pid: number | 'self', file: string, read: (text: string) => number): number {
  let sum = 0;
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  for (const tid of tasks) {
    try {
      sum += read(readFileSync(`/proc/${pid}/task/${tid}/${file}`, 'utf8'));
    } catch {
      // gone meanwhile
    }
  }
  return sum;
}

/** CPU time of every thread of process `pid` (/proc/PID/task/TID/schedstat), ms; 0 where it cannot be read. */
export function threadsCpuMs(pid: number): number {
  return sumOverThreads(pid, 'schedstat', (text) => Number(text.split(' ')[0]) / 1e6);
}

/**
 * Context switches of every thread of process `pid` (voluntary and not, /proc/PID/task/TID/status); 0 where they
 * cannot be read. A count, so it holds still where CPU time drifts: each one is a sleep and a wake-up, which on a
 * virtual machine can cost more than the work between them.
 */
export function threadsSwitches(pid: number | 'self'): number {
  return sumOverThreads(pid, 'status', (text) => {
    let n = 0;
    for (const m of text.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm)) n += Number(m[1]);
    return n;
  });
}

export interface CpuSpent {
  /** This process, ms. */
  readonly processMs: number;
  /** The child process given to meterCpu (for example `bkt serve`), ms; 0 without one. */
  readonly childMs: number;
  /** Context switches of this process's threads. */
  readonly processSwitches: number;
  /** Context switches of the child's threads; 0 without one. */
  readonly childSwitches: number;
  /** The database server's processes, ms. */
  readonly serverMs: number;
  /**
   * Major page faults on the whole machine (/proc/vmstat): pages read back from disk, such as program text the
   * kernel reclaimed meanwhile; each one stalls the process that touched it. Absent: 0.
   */
  readonly majorFaults: number;
  /** Share of the machine's CPU time (all cores, /proc/stat) that was busy: neither idle nor waiting for I/O. */
  readonly machineBusy: number;
}

/** Busy and total jiffies of all cores (/proc/stat's first line); zeros where it cannot be read. */
function machineTimes(): { busy: number; total: number } {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal; guest time is inside user
    const idle = fields[3] + fields[4]; // idle, iowait
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

function majorFaults(): number {
  try {
    const line = readFileSync('/proc/vmstat', 'utf8').match(/^pgmajfault (\d+)$/m);
    return line ? Number(line[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Starts a stretch; the returned function ends it and gives the CPU time spent since. `childPid`: a child process to
 * meter too (childMs); `database`: count only the server's backends of that database (serverMs), not others' work.
 */
export function meterCpu(serverPrefix = 'postgres', options: { childPid?: number; database?: string } = {}): () => CpuSpent {
  const { childPid, database } = options;
  const own = process.cpuUsage();
  const child = childPid === undefined ? 0 : threadsCpuMs(childPid);
  const ownSwitches = threadsSwitches('self');
  const childSwitches = childPid === undefined ? 0 : threadsSwitches(childPid);
  const before = serverTimes(serverPrefix, database);
  const faults = majorFaults();
  const machine = machineTimes();
  return () => {
    const now = machineTimes();
    const used = process.cpuUsage(own);
    let serverMs = 0;
    for (const [pid, ms] of serverTimes(serverPrefix, database)) serverMs += ms - (before.get(pid) ?? 0);
    const total = now.total - machine.total;
    return {
      processMs: (used.user + used.system) / 1000,
      childMs: childPid === undefined ? 0 : threadsCpuMs(childPid) - child,
      processSwitches: threadsSwitches('self') - ownSwitches,
      childSwitches: childPid === undefined ? 0 : threadsSwitches(childPid) - childSwitches,
      serverMs,
      majorFaults: majorFaults() - faults,
      machineBusy: total > 0 ? (now.busy - machine.busy) / total : 0,
    };
  };
}
