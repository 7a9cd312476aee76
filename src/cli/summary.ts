/** Pieces of the commands' summaries shared between them. */
import type { TraceUsage } from './apply-params.js';
import { count } from './options.js';

export function usageJson(u: TraceUsage) {
  return {
    absent_concepts: u.absentConcepts,
    absent_rows: u.absentRows,
    fallback_concepts: u.fallbackConcepts,
    fallback_rows: u.fallbackRows,
  };
}

export function usageText(u: TraceUsage): string {
  let text = '';
  if (u.absentConcepts > 0) {
    text += `${count(u.absentConcepts)} concepts absent from the params file used the fallback: ${count(u.absentRows)} rows\n`;
  }
  if (u.fallbackConcepts > 0) {
    text += `${count(u.fallbackConcepts)} concepts marked use: fallback in the params file: ${count(u.fallbackRows)} rows\n`;
  }
  return text;
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
