/** Reading a benchmark's ratio interval against a target (bench/http-update --graph). */

/** A ratio (mode / baseline) and its 90% interval. */
export interface Interval {
  readonly value: number;
  readonly low: number;
  readonly high: number;
}

/**
 * What a 90% interval of p99(mode) / p99(off) says about the target "p99 within `limit` of off": met when the whole
 * interval lies at or below 1 + limit, not met when it lies above, otherwise the runs cannot tell.
 *
 * `control` is the same interval for a second, identical off mode, whose true ratio is 1. A verdict stands only if the
 * control's interval holds 1 and lies within 1 +/- limit: if it misses 1, the intervals understate the machine's
 * noise; if it reaches past 1 +/- limit, the machine alone moves the p99 by more than the target allows, and a narrow
 * interval for the mode is luck, not resolution.
 */
export function verdict(mode: Interval, limit: number, control?: Interval): string {
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
  const range = (i: Interval) => `[${pct(i.low - 1)}, ${pct(i.high - 1)}]`;
  const bound = `${(limit * 100).toFixed(0)}%`;
  if (control !== undefined && (control.low > 1 || control.high < 1)) {
    return `cannot tell: the control's ${range(control)} misses 0%, so these intervals understate this machine's noise`;
  }
  const answer =
    mode.high <= 1 + limit
      ? `met: ${range(mode)} lies within +${bound}`
      : mode.low > 1 + limit
        ? `not met: ${range(mode)} lies above +${bound}`
        : `cannot tell: ${range(mode)} spans +${bound}`;
  if (control === undefined) return answer;
  if (control.low >= 1 - limit && control.high <= 1 + limit) return `${answer}; the control's ${range(control)} lies within +/-${bound}`;
  return `cannot tell: the mode read ${range(mode)}, but the control's ${range(control)} reaches past +/-${bound}: the machine alone moves the p99 that much`;
}
