/**
 * A hand-made params file of schema_version 2 (see the per-value contract): two fitted concepts with guess and slip
 * per item, learn per template and prior per class, one concept predicted with the fallback (its per_value is
 * ignored), and a value that is markup, to show it is escaped.
 */
import { assessCurve } from '../../src/bkt/index.js';
import { perValueOf } from '../../src/cli/report.js';
import type { FitReport, ReportConcept } from '../../src/report/fit-report.js';

const own = (prior: number, learn: number, guess: number, slip: number) => ({ prior, learn, guess, slip, forget: 0 });

export const HOSTILE_VALUE = '<b onmouseover="x()">i9</b>';

export function handMadeParamsV2(): Record<string, unknown> {
  const concept = (id: string, use: 'fitted' | 'fallback', params: ReturnType<typeof own>, perValue: unknown) => ({
    concept_id: id,
    use,
    params,
    log_lik: -100,
    iterations: 10,
    converged: true,
    responses: 200,
    students: 40,
    opportunities_to_mastery: 3,
    flags: { degenerate: false, mastery_unreachable: false, mastery_slow: false, at_bound: false, few_data: false },
    reasons: [],
    advisories: [],
    per_value: perValue,
  });
  return {
    schema_version: 2,
    generator: 'hand-made',
    input: { file: 'items.csv', sha256: '0'.repeat(64), rows: 600, students: 40, concepts: 3 },
    options: { restarts: 1, seed: 0, multigs: 'item_id', multilearn: 'template_id', multiprior: 'class_id', fallback: 'pooled', threshold: 0.95 },
    fallback: { source: 'pooled', params: own(0.4, 0.2, 0.2, 0.1) },
    concepts: [
      concept('Table', 'fitted', own(0.3, 0.25, 0.2, 0.1), {
        guess_slip: {
          column: 'item_id',
          values: [
            { value: '48881', guess: 0.12, slip: 0.08, rows: 35 },
            { value: '48882', guess: 0.55, slip: 0.02, rows: 40 },
            { value: '48883', guess: 0.03, slip: 0.25, rows: 20 },
            { value: HOSTILE_VALUE, guess: 0.3, slip: 0.1, rows: 5 },
          ],
        },
        learn: {
          column: 'template_id',
          values: [
            { value: '30244', learn: 0.2, forget: 0, rows: 120 },
            { value: '30245', learn: 0.45, forget: 0.01, rows: 80 },
          ],
        },
        prior: {
          column: 'class_id',
          values: [
            { value: '12340', prior: 0.3, sequences: 25 },
            { value: '12341', prior: 0.6, sequences: 15 },
          ],
        },
      }),
      concept('Circle Graph', 'fitted', own(0.5, 0.1, 0.25, 0.15), {
        guess_slip: {
          column: 'item_id',
          values: [
            { value: '50001', guess: 0.2, slip: 0.3, rows: 60 },
            { value: '50002', guess: 0.4, slip: 0.05, rows: 70 },
          ],
        },
      }),
      concept('Fallen', 'fallback', own(0.9, 0.9, 0.3, 0.3), {
        guess_slip: { column: 'item_id', values: [{ value: 'never-shown', guess: 0.1, slip: 0.1, rows: 3 }] },
      }),
    ],
  };
}

type Entry = { concept_id: string; use: 'fitted' | 'fallback'; params: ReportConcept['params']; per_value: unknown };

/** A fit report model over a params file's concepts (no data: empty curves), per_value read as `bkt report` reads it. */
export function handMadeReport(raw: Record<string, unknown>): FitReport {
  const concepts = (raw.concepts as Entry[]).map(
    (e): ReportConcept => ({
      conceptId: e.concept_id,
      use: e.use,
      params: e.params,
      flags: [],
      reasons: [],
      responses: 200,
      students: 40,
      logLik: -100,
      auc: 0.7,
      opportunitiesToMastery: 3,
      curve: [],
      verdict: assessCurve([]),
      perValue: e.use === 'fitted' ? perValueOf(e.per_value) : null,
    }),
  );
  return {
    generator: 'test',
    data: { file: 'items.csv', sha256: '0'.repeat(64), rows: 600, students: 40, concepts: concepts.length },
    params: { file: 'params.json', generator: 'hand-made', schemaVersion: 2, fitInput: { file: 'items.csv', sha256: '0'.repeat(64) }, options: {}, fallback: { source: 'pooled', params: { prior: 0.4, learn: 0.2, guess: 0.2, slip: 0.1, forget: 0 } } },
    maxOpportunity: 10,
    minStudents: 5,
    concepts,
    cv: null,
  };
}

