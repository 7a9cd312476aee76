/** Pieces of the commands' summaries shared between them. */
import type { TraceUsage } from './apply-params.js';
import type { UnseenValues } from '../bkt/index.js';
import { count } from './options.js';

export function usageJson(u: TraceUsage) {
  return {
    absent_concepts: u.absentConcepts,
    absent_rows: u.absentRows,
    fallback_concepts: u.fallbackConcepts,
    fallback_rows: u.fallbackRows,
    unseen_values: unseenJson(u.unseen),
  };
}

/** Rows (for prior, sequences) that took the concept's own value because theirs was not seen in training. */
export function unseenJson(u: UnseenValues) {
  return { guess_slip_rows: u.guessSlip, learn_rows: u.learn, prior_sequences: u.prior };
}

export function usageText(u: TraceUsage): string {
  let text = '';
  if (u.absentConcepts > 0) {
    text += `${count(u.absentConcepts)} concepts absent from the params file used the fallback: ${count(u.absentRows)} rows\n`;
  }
  if (u.fallbackConcepts > 0) {
    text += `${count(u.fallbackConcepts)} concepts marked use: fallback in the params file: ${count(u.fallbackRows)} rows\n`;
  }
  return text + unseenText(u.unseen);
}

/** One line per variant that met values not seen in training (nothing when none did). */
export function unseenText(u: UnseenValues): string {
  const parts = [
    u.guessSlip > 0 ? `${count(u.guessSlip)} rows took the concept's own guess and slip` : '',
    u.learn > 0 ? `${count(u.learn)} rows the concept's own learn and forget` : '',
    u.prior > 0 ? `${count(u.prior)} sequences the concept's own prior` : '',
  ].filter((p) => p !== '');
  return parts.length === 0 ? '' : `values not seen in training: ${parts.join(', ')}\n`;
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
