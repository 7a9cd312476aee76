/** Options shared by several commands, with their parsers (a bad value is a usage error naming the option). */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type ColumnNames } from './csv-input.js';

export interface ColumnOptions {
  studentCol: string;
  conceptCol: string;
  correctCol: string;
  orderCol?: string;
}

/** --student-col, --concept-col, --correct-col, --order-col. */
export function addColumnOptions(cmd: Command): Command {
  return cmd
    .option('--student-col <name>', 'column holding student ids', 'student_id')
    .option('--concept-col <name>', 'column holding concept ids (matched exactly)', 'concept_id')
    .option('--correct-col <name>', 'column holding the answer: 0, 1, true or false', 'correct')
    .addOption(
      new Option(
        '--order-col <name>',
        "numeric column giving time order within each student (default: none, rows are in time order and each student's rows are contiguous)",
      ),
    );
}

export function columnNames(o: ColumnOptions): ColumnNames {
  return { student: o.studentCol, concept: o.conceptCol, correct: o.correctCol, order: o.orderCol ?? null };
}

export function addJsonOption(cmd: Command): Command {
  return cmd.option('--json', 'print a machine-readable summary on stdout instead of text', false);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID option's value, lower-cased. */
export function parseUuid(text: string): string {
  if (!UUID.test(text)) throw new InvalidArgumentError('expected a UUID.');
  return text.toLowerCase();
}

export function parseInteger(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (text: string): number => {
    const v = Number(text);
    if (!/^\s*-?\d+\s*$/.test(text) || !Number.isSafeInteger(v) || v < min || v > max) {
      throw new InvalidArgumentError(`expected an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ' up'}.`);
    }
    return v;
  };
}

export function parseNumber(min: number, max: number, open = false) {
  return (text: string): number => {
    const v = Number(text);
    const ok = text.trim() !== '' && Number.isFinite(v) && (open ? v > min && v < max : v >= min && v <= max);
    if (!ok) throw new InvalidArgumentError(`expected a number ${open ? 'strictly ' : ''}between ${min} and ${max}.`);
    return v;
  };
}

/** --threshold: mastered = P(L) after the answer >= this. */
export function thresholdOption(defaultText: string): Option {
  return new Option('--threshold <p>', `mastery threshold on P(L) after the answer (default: ${defaultText})`).argParser(
    (text) => {
      const v = Number(text);
      if (!(text.trim() !== '' && v > 0 && v <= 1)) throw new InvalidArgumentError('expected a number in (0, 1].');
      return v;
    },
  );
}

/**
 * Formats a count with thousands separators for text summaries (1,234,567), as toLocaleString('en-US') does for
 * whole numbers, without it: the first Intl call maps about 7 MB of ICU data into the process.
 */
export function count(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toLocaleString('en-US');
  const digits = String(Math.abs(n));
  let out = digits.slice(0, ((digits.length - 1) % 3) + 1);
  for (let i = out.length; i < digits.length; i += 3) out += `,${digits.slice(i, i + 3)}`;
  return n < 0 ? `-${out}` : out;
}
