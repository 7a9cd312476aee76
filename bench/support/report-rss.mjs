// Preloaded by bench scripts (node --import): prints the process's peak RSS on exit, worker threads included.
import { writeSync } from 'node:fs';

process.on('exit', () => {
  writeSync(2, `\nBENCH_MAX_RSS_KB=${process.resourceUsage().maxRSS}\n`);
});
