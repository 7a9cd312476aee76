/** Loads a shared CSV into the core's flat ResponseData (test helper; the CLI has the streaming reader). */
import type { ResponseData } from '../../src/bkt/index.js';
import { readCsv } from './data.js';

export function loadResponses(name: string): ResponseData {
  const { header, rows } = readCsv(name);
  const [iS, iC, iY] = ['student_id', 'concept_id', 'correct'].map((c) => header.indexOf(c));
  const conceptIndex = new Map<string, number>();
  const studentIndex = new Map<string, number>();
  const seqRows = new Map<string, number[]>(); // key concept|student -> row numbers
  rows.forEach((r, i) => {
    if (!conceptIndex.has(r[iC])) conceptIndex.set(r[iC], conceptIndex.size);
    if (!studentIndex.has(r[iS])) studentIndex.set(r[iS], studentIndex.size);
    const key = `${conceptIndex.get(r[iC])}\u0000${r[iS]}`;
    let g = seqRows.get(key);
    if (!g) seqRows.set(key, (g = []));
    g.push(i);
  });
  const conceptIds = [...conceptIndex.keys()];
  const keys = [...seqRows.keys()].sort((a, b) => Number(a.split('\u0000')[0]) - Number(b.split('\u0000')[0]));
  const responses = new Uint8Array(rows.length);
  const rowOf = new Uint32Array(rows.length);
  const offsets = new Uint32Array(keys.length + 1);
  const seqStudent = new Uint32Array(keys.length);
  const conceptSeqs = new Uint32Array(conceptIds.length + 1);
  let n = 0;
  keys.forEach((key, s) => {
    const [c, student] = key.split('\u0000');
    conceptSeqs[Number(c) + 1] = s + 1;
    seqStudent[s] = studentIndex.get(student)!;
    for (const i of seqRows.get(key)!) {
      responses[n] = rows[i][iY] === '1' ? 1 : 0;
      rowOf[n++] = i;
    }
    offsets[s + 1] = n;
  });
  return { responses, offsets, conceptSeqs, conceptIds, seqStudent, studentIds: [...studentIndex.keys()], rowOf };
}
