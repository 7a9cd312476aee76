// Preloaded by bench scripts (node --import): prints the process's peak RSS and CPU time on exit, worker threads
// included, so a reader can tell a slow run from a run that waited for a busy machine.
import { writeSync } from 'node:fs';

process.on('exit', () => {
  const u = process.resourceUsage();
  writeSync(2, `\nBENCH_MAX_RSS_KB=${u.maxRSS} BENCH_CPU_US=${u.userCPUTime + u.systemCPUTime}\n`);
});
