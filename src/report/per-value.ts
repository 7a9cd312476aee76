/**
 * The per-value part of `bkt report`: for concepts whose params file entry has `per_value` (schema_version 2),
 * guess and slip per value ranked by item difficulty, learn and forget per value, prior per value, each against the
 * concept's own values; as chart panels and as sortable tables.
 */
import {
  type BktParams, type GuessSlipValue, type ItemDifficulty, type LearnValue, type PerValueParams, type PriorValue, rankItemDifficulty, rankValues, type UnseenValues,
} from '../bkt/index.js';
import type { PerValuePanel } from './charts.js';
import { anchorId, type Column, escapeHtml, int, num, sortableTable } from './html.js';

/** What this view needs of a report's concept. */
export interface PerValueConcept {
  readonly conceptId: string;
  /** The concept's own values. */
  readonly params: BktParams;
  readonly perValue: PerValueParams | null;
}

/** How many chart columns: whole concepts per row, about four panels wide. */
export function perValueColumns(concepts: readonly PerValueConcept[]): number {
  const kinds = Math.max(1, ...concepts.map((c) => variantsOf(c).length));
  return kinds * Math.max(1, Math.floor(4 / kinds));
}

function variantsOf(c: PerValueConcept): ('guessSlip' | 'learn' | 'prior')[] {
  const p = c.perValue;
  if (p === null) return [];
  return (['guessSlip', 'learn', 'prior'] as const).filter((k) => p[k] !== undefined);
}

/** The chart's panels, concept by concept, variants in file order. */
export function perValuePanels(concepts: readonly PerValueConcept[]): PerValuePanel[] {
  const out: PerValuePanel[] = [];
  for (const c of concepts) {
    const p = c.perValue;
    if (p === null) continue;
    if (p.guessSlip) {
      const ranked = rankItemDifficulty(p.guessSlip.values, c.params.prior);
      out.push({
        label: `${c.conceptId} · guess, slip`,
        xTitle: `${p.guessSlip.column}, hardest first`,
        series: [
          { name: 'guess', values: ranked.map((v) => v.guess), own: c.params.guess },
          { name: 'slip', values: ranked.map((v) => v.slip), own: c.params.slip },
        ],
      });
    }
    if (p.learn) {
      const ranked = rankValues(p.learn.values, (v) => v.learn);
      out.push({
        label: `${c.conceptId} · learn, forget`,
        xTitle: `${p.learn.column}, highest learn first`,
        series: [
          { name: 'learn', values: ranked.map((v) => v.learn), own: c.params.learn },
          { name: 'forget', values: ranked.map((v) => v.forget), own: c.params.forget },
        ],
      });
    }
    if (p.prior) {
      const ranked = rankValues(p.prior.values, (v) => v.prior);
      out.push({
        label: `${c.conceptId} · prior`,
        xTitle: `${p.prior.column}, highest first`,
        series: [{ name: 'prior', values: ranked.map((v) => v.prior), own: c.params.prior }],
      });
    }
  }
  return out;
}

type Ranked<T> = T & { readonly rank: number };

function ranked<T>(values: readonly T[]): Ranked<T>[] {
  return values.map((v, i) => ({ ...v, rank: i + 1 }));
}

function valueColumns<T extends { readonly value: string; readonly rank: number }>(column: string): Column<T>[] {
  return [
    { label: 'rank', type: 'number', html: (v) => String(v.rank), sort: (v) => v.rank },
    { label: column, type: 'text', className: 'text', html: (v) => escapeHtml(v.value), sort: (v) => v.value },
  ];
}

const number = <T,>(label: string, get: (v: T) => number): Column<T> => ({ label, type: 'number', html: (v) => num(get(v)), sort: get });
const count = <T,>(label: string, get: (v: T) => number): Column<T> => ({ label, type: 'number', html: (v) => int(get(v)), sort: get });

function details(summary: string, table: string): string {
  return `<details><summary>${escapeHtml(summary)}</summary>${table}</details>`;
}

function itemsTable(column: string, values: readonly GuessSlipValue[], prior: number): string {
  const rows = ranked(rankItemDifficulty(values, prior));
  const columns: Column<Ranked<ItemDifficulty>>[] = [
    ...valueColumns<Ranked<ItemDifficulty>>(column),
    number('guess', (v) => v.guess),
    number('slip', (v) => v.slip),
    number('difficulty', (v) => v.difficulty),
    count('rows', (v) => v.rows),
  ];
  return details(`guess and slip by ${column}: ${int(rows.length)} values, hardest first`, sortableTable(columns, rows));
}

function learnTable(column: string, values: readonly LearnValue[]): string {
  const rows = ranked(rankValues(values, (v) => v.learn));
  const columns: Column<Ranked<LearnValue>>[] = [
    ...valueColumns<Ranked<LearnValue>>(column),
    number('learn', (v) => v.learn),
    number('forget', (v) => v.forget),
    count('rows', (v) => v.rows),
  ];
  return details(`learn and forget by ${column}: ${int(rows.length)} values, highest learn first`, sortableTable(columns, rows));
}

function priorTable(column: string, values: readonly PriorValue[]): string {
  const rows = ranked(rankValues(values, (v) => v.prior));
  const columns: Column<Ranked<PriorValue>>[] = [...valueColumns<Ranked<PriorValue>>(column), number('prior', (v) => v.prior), count('sequences', (v) => v.sequences)];
  return details(`prior by ${column}: ${int(rows.length)} values, highest first`, sortableTable(columns, rows));
}

/** The section's HTML: what it shows, the chart (`figure`, drawn by the caller), and each concept's tables. */
export function perValueSection(concepts: readonly PerValueConcept[], figure: string, unseen: UnseenValues): string {
  const blocks = concepts.map((c) => {
    const p = c.perValue;
    if (p === null) return '';
    const own = (['prior', 'learn', 'guess', 'slip', 'forget'] as const).map((k) => `${k} ${num(c.params[k])}`).join(', ');
    return [
      `<h3 id="${anchorId('per-value', c.conceptId)}">${escapeHtml(c.conceptId)}</h3>`,
      `<p>The concept's own values, used for values not seen in training: ${own}.</p>`,
      p.guessSlip ? itemsTable(p.guessSlip.column, p.guessSlip.values, c.params.prior) : '',
      p.learn ? learnTable(p.learn.column, p.learn.values) : '',
      p.prior ? priorTable(p.prior.column, p.prior.values) : '',
    ].join('\n');
  });
  return [
    '<p>Parameters fitted per value of a column, for concepts with their own fit: guess and slip per value (e.g. per item), ' +
      'learn and forget per value (the transition after a row with that value), prior per value (at a student\'s first row). ' +
      'An item\'s <em>difficulty</em> is the error rate expected of a student who meets it at the concept\'s prior: ' +
      '1 − [prior·(1 − slip) + (1 − prior)·guess]; items are ranked hardest first. "rows" counts training rows; "sequences", ' +
      'training students whose first row had the value.</p>',
    `<p>On this page's data, values not seen in training took the concept's own: guess and slip on ${int(unseen.guessSlip)} rows, ` +
      `learn and forget on ${int(unseen.learn)} rows, prior on ${int(unseen.prior)} sequences.</p>`,
    figure,
    ...blocks,
  ].join('\n');
}
