/**
 * A hand-made params file of schema_version 2 (see the per-value contract): two fitted concepts with guess and slip
 * per item, learn per template and prior per class, one concept predicted with the fallback (its per_value is
 * ignored), and a value that is markup, to show it is escaped.
 */
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

/**
 * A response log for the hand-made file: 12 students answering each concept 4 times, cycling through its items,
 * templates and classes; item 'unseen-item' was not in training (the concept's own guess and slip apply to it).
 */
export function handMadeLog(): string {
  const items: Record<string, string[]> = { Table: ['48881', '48882', '48883', HOSTILE_VALUE, 'unseen-item'], 'Circle Graph': ['50001', '50002'], Fallen: ['never-shown'] };
  const quote = (v: string) => (/[",]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  let text = 'student_id,concept_id,item_id,template_id,class_id,correct\n';
  for (let s = 0; s < 12; s++) {
    for (const [concept, list] of Object.entries(items)) {
      for (let k = 0; k < 4; k++) {
        const item = list[(s + k) % list.length]!;
        text += [`s${s}`, quote(concept), quote(item), k % 2 ? '30244' : '30245', s % 2 ? '12340' : '12341', (s + k) % 3 ? 1 : 0].join(',') + '\n';
      }
    }
  }
  return text;
}
