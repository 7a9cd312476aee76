/**
 * RFC 3339 date-times as PostgreSQL's timestamptz reads them: checked for a real instant and rounded to the
 * microsecond exactly as the server rounds (the fraction is parsed as a double and passed through rint(), round half
 * to even), then written in one canonical form (UTC, six fraction digits). A retry that sends the same instant with
 * any number of fraction digits and any offset therefore compares equal to what was stored, on PostgreSQL and PGlite.
 */
import { HttpError } from './errors.js';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,32})?([Zz]|[+-]\d{2}:\d{2})$/;

const MICROS_PER_SECOND = 1_000_000n;
/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z: the instants a four-digit year can name in UTC. */
const FIRST = BigInt(daysFromCivil(1, 1, 1)) * 86_400n * MICROS_PER_SECOND;
const LAST = BigInt(daysFromCivil(9999, 12, 31) + 1) * 86_400n * MICROS_PER_SECOND - 1n;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil; exact for every year). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** C's rint() in the default rounding mode: to the nearest integer, ties to even. */
function rint(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function invalid(field: string, problem: string): HttpError {
  return new HttpError('invalid_input', `${field} ${problem}`, field);
}

/**
 * Microseconds since the Unix epoch of an RFC 3339 date-time, rounded as PostgreSQL rounds; throws a 400 naming
 * `field` when the text is not a real instant (year 0000, month 13, February 30, hour 24, an offset beyond +-15:59).
 */
export function instantMicros(text: string, field: string): bigint {
  const m = RFC3339.exec(text);
  if (!m) throw invalid(field, 'must be an RFC 3339 date-time with a time zone, e.g. 2026-01-31T09:30:00.123Z');
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (year < 1) throw invalid(field, 'has year 0000; years run from 0001 to 9999');
  if (month < 1 || month > 12) throw invalid(field, `has month ${m[2]}; months run from 01 to 12`);
  if (day < 1 || day > daysInMonth(year, month)) throw invalid(field, `has day ${m[3]}, which month ${m[2]} of ${m[1]} does not have`);
  if (hour > 23) throw invalid(field, `has hour ${m[4]}; hours run from 00 to 23`);
  if (minute > 59) throw invalid(field, `has minute ${m[5]}; minutes run from 00 to 59`);
  // 60 is a leap second; PostgreSQL reads it as the first second of the next minute, and so does this.
  if (second > 60) throw invalid(field, `has second ${m[6]}; seconds run from 00 to 60`);
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone !== 'Z' && zone !== 'z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 15 || om > 59) throw invalid(field, `has offset ${zone}; offsets run from -15:59 to +15:59`);
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const fraction = m[7] === undefined ? 0n : BigInt(rint(Number(`0${m[7]}`) * 1e6));
  if (second === 60 && fraction !== 0n) throw invalid(field, 'has a leap second (60) with a fraction, which PostgreSQL does not accept');
  const wholeSeconds = daysFromCivil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offsetMinutes * 60;
  const micros = BigInt(wholeSeconds) * MICROS_PER_SECOND + fraction;
  if (micros < FIRST || micros > LAST) throw invalid(field, 'is outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z once its offset is applied');
  return micros;
}

/** Microseconds since the epoch as a canonical RFC 3339 string: UTC, six fraction digits. */
export function microsToIso(micros: bigint): string {
  let ms = micros / 1000n;
  if (ms * 1000n > micros) ms -= 1n; // floor for instants before 1970
  const subMs = Number(micros - ms * 1000n);
  const base = new Date(Number(ms)).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ for years 0001-9999
  return `${base.slice(0, 23)}${String(subMs).padStart(3, '0')}Z`;
}

/** The canonical form of an RFC 3339 date-time (see instantMicros); throws a 400 naming `field`. */
export function normaliseInstant(text: string, field: string): string {
  return microsToIso(instantMicros(text, field));
}
