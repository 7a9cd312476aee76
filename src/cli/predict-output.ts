/**
 * The rows `bkt predict` writes: a second pass over the input copies each record through as its own bytes (its
 * quoting kept exactly) and appends the prediction columns, formatted straight into large buffers (csv-writer.ts)
 * and written with backpressure (output.ts).
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { ResponseData, TraceColumns } from '../bkt/index.js';
import { type CsvRecord, CsvTokenizer, recordFields } from './csv-records.js';
import { type ByteSink, CsvWriter } from './csv-writer.js';
import { csvField } from './output.js';
import { type LoadedParams, paramsForConcept } from './params-file.js';

/** The columns appended to every input row, in this order (new columns are only ever added at the end). */
export const PREDICTION_COLUMNS = [
  'p_correct',
  'p_mastery_before',
  'p_posterior',
  'p_mastery_after',
  'mastered',
  'opportunity',
  'params_source',
] as const;

/**
 * Where a row's parameters came from: the concept's own fit; the file's fallback (the concept is marked
 * `use: fallback`); the fallback because the concept is absent from the params file; the concept's own values
 * because the row's variant value was not seen in training; the story defaults (no params file).
 */
export const PARAMS_SOURCES = ['fitted', 'fallback', 'absent', 'unseen', 'defaults'] as const;
export type ParamsSource = (typeof PARAMS_SOURCES)[number];
export const SOURCE_CODE: Readonly<Record<ParamsSource, number>> = { fitted: 0, fallback: 1, absent: 2, unseen: 3, defaults: 4 };

const SOURCE_BYTES = PARAMS_SOURCES.map((name) => Buffer.from(name, 'ascii'));

/**
 * Per grouped row, the code (SOURCE_CODE) of where its parameters came from, as far as the concept decides it
 * (rows with an unseen variant value are marked from the trace, which knows them).
 */
export function conceptSources(data: ResponseData, source: LoadedParams): Uint8Array {
  const out = new Uint8Array(data.responses.length);
  for (let c = 0; c < data.conceptIds.length; c++) {
    const { how } = paramsForConcept(source, data.conceptIds[c]);
    const code = source.file === null ? SOURCE_CODE.defaults : SOURCE_CODE[how];
    out.fill(code, data.offsets[data.conceptSeqs[c]], data.offsets[data.conceptSeqs[c + 1]]);
  }
  return out;
}

/** Per grouped row, its 1-based position within its (student, concept) sequence. */
export function opportunities(data: ResponseData): Uint32Array {
  const out = new Uint32Array(data.responses.length);
  const nSeq = data.offsets.length - 1;
  for (let s = 0; s < nSeq; s++) {
    const first = data.offsets[s];
    for (let t = first, end = data.offsets[s + 1]; t < end; t++) out[t] = t - first + 1;
  }
  return out;
}

/** Where rows go (an AtomicOutput): bytes, and a promise that resolves when it can take more. */
export interface PredictionOutput extends ByteSink {
  ready(): Promise<void>;
}

/** What one prediction row needs, indexed by grouped row. */
export interface PredictionColumns {
  readonly trace: TraceColumns;
  /** SOURCE_CODE per grouped row. */
  readonly sources: Uint8Array;
}

/**
 * Streams `file` again and writes header plus one row per record: the record's bytes, then PREDICTION_COLUMNS.
 * Probabilities have PROBABILITY_DIGITS decimals. `onBytes` reports input bytes read (for progress).
 */
export async function writePredictionRows(
  output: PredictionOutput,
  file: string,
  data: ResponseData,
  cols: PredictionColumns,
  onBytes: (done: number) => void,
): Promise<void> {
  const n = data.responses.length;
  const grouped = new Uint32Array(n); // input row -> grouped index
  for (let t = 0; t < n; t++) grouped[data.rowOf[t]] = t;
  const opportunity = opportunities(data);
  const { sources } = cols;
  const { pCorrect, masteryBefore, posterior, masteryAfter, mastered } = cols.trace as Required<TraceColumns>;
  const writer = new CsvWriter(output);
  let row = -1; // the header comes first
  const onRecord = (r: CsvRecord): void => {
    if (row < 0) {
      writer.text(`${[...recordFields(r), ...PREDICTION_COLUMNS].map(csvField).join(',')}\n`);
      row = 0;
      return;
    }
    const t = grouped[row++];
    // The record, 4 probabilities of 12 bytes, a flag, an opportunity of at most 10 digits, a source, 7 separators.
    writer.reserve(r.to - r.from + 48 + 1 + 10 + 8 + 7);
    writer.bytes(r.bytes, r.from, r.to);
    writer.comma();
    writer.probability(pCorrect[t]);
    writer.comma();
    writer.probability(masteryBefore[t]);
    writer.comma();
    writer.probability(posterior[t]);
    writer.comma();
    writer.probability(masteryAfter[t]);
    writer.comma();
    writer.digit(mastered[t]);
    writer.comma();
    writer.uint(opportunity[t]);
    writer.comma();
    const name = SOURCE_BYTES[sources[t]];
    writer.bytes(name, 0, name.length);
    writer.newline();
  };
  const tokenizer = new CsvTokenizer(file, onRecord);
  // After each read: report progress (bytes as stored), then wait while the output is full.
  const afterRead = (stored: number): Promise<void> => {
    onBytes(stored);
    return output.ready();
  };
  if (file.endsWith('.gz')) await feedGzip(file, tokenizer, afterRead);
  else await feedPlain(file, tokenizer, afterRead);
  writer.flush();
}

/** Reads a plain file straight into the tokenizer's buffer. */
async function feedPlain(file: string, tokenizer: CsvTokenizer, afterRead: (stored: number) => Promise<void>): Promise<void> {
  const handle = await open(file, 'r');
  try {
    let stored = 0;
    for (let got = -1; got !== 0; ) {
      const room = tokenizer.room();
      got = (await handle.read(room, 0, room.length, null)).bytesRead;
      tokenizer.filled(got);
      stored += got;
      await afterRead(stored);
    }
    tokenizer.end();
  } finally {
    await handle.close();
  }
}

/** Gunzips a file through the tokenizer (the first pass has already checked that it is valid gzip). */
async function feedGzip(file: string, tokenizer: CsvTokenizer, afterRead: (stored: number) => Promise<void>): Promise<void> {
  const gunzip = createGunzip({ chunkSize: 1 << 18 });
  await pipeline(createReadStream(file, { highWaterMark: 1 << 16 }), gunzip, async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) {
      tokenizer.push(chunk);
      await afterRead(gunzip.bytesWritten);
    }
    tokenizer.end();
  });
}
