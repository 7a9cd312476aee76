/** Test access to the shared real data sets, read in place (never copied into the repo). */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHARED_DATA = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/data');

export function dataPath(name: string): string {
  return resolve(SHARED_DATA, name);
}

export function hasData(name: string): boolean {
  return existsSync(dataPath(name));
}

/** Reads a small CSV (optionally gzipped) into header + rows of strings. Real data has no quoted fields. */
export function readCsv(name: string): { header: string[]; rows: string[][] } {
  const raw = readFileSync(dataPath(name));
  const text = (name.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const header = lines[0].split(',');
  return { header, rows: lines.slice(1).map((l) => l.split(',')) };
}

export const GOLDEN_FILES = [
  'golden/ct_pybkt_fixed.csv',
  'golden/assist2009_pybkt_subset_fixed.csv',
  'golden/statics2011_fixed.csv.gz',
  'golden/assist2009_fixed.csv.gz',
] as const;
