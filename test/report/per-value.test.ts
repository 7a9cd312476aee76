/**
 * The report's per-value view through the real `bkt report`: a hand-made schema_version 2 params file with guess and
 * slip per item, learn per template and prior per class gives ranked tables, one chart and escaped values.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bkt, tempDir } from '../support/bin.js';
import { HOSTILE_VALUE, handMadeLog, handMadeParamsV2 } from './params-v2.js';

/** The rows of the per-value table whose summary starts with `summary`, as arrays of cell texts. */
function table(html: string, summary: string): string[][] {
  const at = html.indexOf(`<summary>${summary}`);
  expect(at, summary).toBeGreaterThan(0);
  const body = html.slice(at, html.indexOf('</table>', at));
  return [...body.matchAll(/<tr>(.*?)<\/tr>/g)].slice(1).map((m) => [...m[1]!.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((c) => c[1]!));
}

describe('per-value view', () => {
  const tmp = tempDir();
  let html = '';
  beforeAll(() => {
    const params = join(tmp.dir, 'params.json');
    const log = join(tmp.dir, 'items.csv');
    const page = join(tmp.dir, 'report.html');
    writeFileSync(params, JSON.stringify(handMadeParamsV2()));
    writeFileSync(log, handMadeLog());
    const r = bkt(['report', log, '--params', params, '-o', page, '--min-students', '1']);
    expect(r.status, r.stderr).toBe(0);
    html = readFileSync(page, 'utf8');
  });
  afterAll(() => tmp.cleanup());

  it('ranks each concept\'s items hardest first, learn and prior highest first, with the own values', () => {
    expect(html).toContain('<a href="#per-value">');
    // Table: prior 0.3; difficulty = 1 - (0.3 (1 - slip) + 0.7 guess).
    const items = table(html, 'guess and slip by item_id: 4 values');
    expect(items.map((r) => r[1])).toEqual(['48883', '48881', '&lt;b onmouseover=&quot;x()&quot;&gt;i9&lt;/b&gt;', '48882']);
    expect(items.map((r) => r[0])).toEqual(['1', '2', '3', '4']);
    expect(Number(items[0]![4])).toBeCloseTo(1 - (0.3 * 0.75 + 0.7 * 0.03), 3);
    expect(items.map((r) => r[5])).toEqual(['20', '35', '5', '40']);
    expect(table(html, 'learn and forget by template_id').map((r) => r[1])).toEqual(['30245', '30244']);
    expect(table(html, 'prior by class_id').map((r) => r[1])).toEqual(['12341', '12340']);
    // Circle Graph: prior 0.5, so 50001 (0.55) is harder than 50002 (0.325).
    const circle = html.indexOf('id="per-value-Circle.20.Graph"');
    expect(circle).toBeGreaterThan(0);
    expect(table(html.slice(circle), 'guess and slip by item_id: 2 values').map((r) => r[1])).toEqual(['50001', '50002']);
    expect(html).toContain("The concept's own values, used for values not seen in training: prior 0.500, learn 0.100, guess 0.250, slip 0.150");
    // 'unseen-item' is not in the file: its rows took Table's own guess and slip.
    const unseen = handMadeLog().split('\n').filter((l) => l.includes(',unseen-item,')).length;
    expect(unseen).toBeGreaterThan(0);
    expect(html).toContain(`guess and slip on ${unseen} rows, learn and forget on 0 rows, prior on 0 sequences`);
    // The fallback concept's per_value is not shown, and markup in a value stays text.
    expect(html).not.toContain('never-shown');
    expect(html).not.toContain(HOSTILE_VALUE);
  });

  it('draws one panel per concept and variant, one dot per value and parameter', () => {
    const start = html.indexOf('<section id="per-value">');
    const section = html.slice(start, html.indexOf('</section>', start));
    const svgs = section.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs).toHaveLength(1);
    const svg = svgs[0]!;
    const symbols = /<g class="mark-symbol role-mark"[^>]*>(.*?)<\/g>/.exec(svg)![1]!.match(/<path /g)!.length;
    // Table: 4 items x (guess, slip) + 2 templates x (learn, forget) + 2 classes; Circle Graph: 2 items x 2.
    expect(symbols).toBe(8 + 4 + 2 + 4);
    for (const label of ['Table · guess, slip', 'Table · learn, forget', 'Table · prior', 'Circle Graph · guess, slip']) expect(svg).toContain(`>${label}</text>`);
    expect(svg).not.toContain('Fallen');
  });
});
