// The graph bench's reading of its intervals against the 10% target (bench/support/verdict.ts): each branch, and the
// control withholding a verdict when its own interval misses the truth it is known to have or is wider than +/-10%.
import { describe, expect, it } from 'vitest';
import { verdict } from '../../bench/support/verdict.js';

const iv = (low: number, high: number) => ({ value: (low + high) / 2, low, high });

describe('verdict', () => {
  it('is met when the whole interval lies at or below +10%', () => {
    expect(verdict(iv(0.95, 1.1), 0.1)).toBe('met: [-5.0%, +10.0%] lies within +10%');
  });

  it('is not met when the whole interval lies above +10%', () => {
    expect(verdict(iv(1.12, 1.4), 0.1)).toBe('not met: [+12.0%, +40.0%] lies above +10%');
  });

  it('cannot tell when the interval spans +10%', () => {
    expect(verdict(iv(0.9, 1.3), 0.1)).toMatch(/^cannot tell: \[-10\.0%, \+30\.0%\] spans \+10%$/);
  });

  it('says whether the control lies within +/-10%', () => {
    expect(verdict(iv(0.98, 1.05), 0.1, iv(0.95, 1.04))).toMatch(/^met: .*; the control's \[-5\.0%, \+4\.0%\] lies within \+\/-10%$/);
  });

  it('gives no verdict when the control reaches past +/-10%, however narrow the mode reads', () => {
    expect(verdict(iv(0.98, 1.05), 0.1, iv(0.7, 1.3))).toBe(
      "cannot tell: the mode read [-2.0%, +5.0%], but the control's [-30.0%, +30.0%] reaches past +/-10%: the machine alone moves the p99 that much",
    );
    expect(verdict(iv(1.3, 1.5), 0.1, iv(0.95, 1.2))).toMatch(/^cannot tell: the mode read \[\+30\.0%, \+50\.0%\]/);
  });

  it('gives no verdict when the control misses 0%', () => {
    expect(verdict(iv(1.2, 1.5), 0.1, iv(0.6, 0.9))).toMatch(/^cannot tell: the control's \[-40\.0%, -10\.0%\] misses 0%/);
    expect(verdict(iv(0.9, 1.0), 0.1, iv(1.01, 1.2))).toMatch(/^cannot tell: the control's/);
  });
});
