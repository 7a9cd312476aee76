/** The report's per-value view, from a hand-made schema_version 2 params file: ranked tables, one chart, escaping. */
import { describe, expect, it } from 'vitest';
import { perValueOf } from '../../src/cli/report.js';
import { renderFitReport } from '../../src/report/fit-report.js';
import { HOSTILE_VALUE, handMadeParamsV2, handMadeReport as report } from './params-v2.js';

type Entry = { concept_id: string; per_value: unknown };

/** The rows of the per-value table whose summary starts with `summary`, as arrays of cell texts. */
function table(html: string, summary: string): string[][] {
  const at = html.indexOf(`<summary>${summary}`);
  expect(at, summary).toBeGreaterThan(0);
  const body = html.slice(at, html.indexOf('</table>', at));
  return [...body.matchAll(/<tr>(.*?)<\/tr>/g)].slice(1).map((m) => [...m[1].matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((c) => c[1]));
}

describe('per-value view', () => {
  it('reads guess_slip, learn and prior of a v2 concept entry, and nothing from an entry without per_value', () => {
    const table = (handMadeParamsV2().concepts as Entry[])[0];
    const p = perValueOf(table.per_value)!;
    expect(p.guessSlip?.column).toBe('item_id');
    expect(p.guessSlip?.values.map((v) => v.value)).toEqual(['48881', '48882', '48883', HOSTILE_VALUE]);
    expect(p.learn?.values[1]).toEqual({ value: '30245', learn: 0.45, forget: 0.01, rows: 80 });
    expect(p.prior?.values[0]).toEqual({ value: '12340', prior: 0.3, sequences: 25 });
    expect(perValueOf(undefined)).toBeNull();
    expect(perValueOf({})).toBeNull();
  });

  it('ranks each concept\'s items hardest first, learn and prior highest first, with the own values', async () => {
    const html = await renderFitReport(report(handMadeParamsV2()));
    expect(html).toContain('<a href="#per-value">');
    // Table: prior 0.3; difficulty = 1 - (0.3 (1 - slip) + 0.7 guess).
    const items = table(html, 'guess and slip by item_id: 4 values');
    expect(items.map((r) => r[1])).toEqual(['48883', '48881', '&lt;b onmouseover=&quot;x()&quot;&gt;i9&lt;/b&gt;', '48882']);
    expect(items.map((r) => r[0])).toEqual(['1', '2', '3', '4']);
    expect(Number(items[0][4])).toBeCloseTo(1 - (0.3 * 0.75 + 0.7 * 0.03), 3);
    expect(table(html, 'learn and forget by template_id').map((r) => r[1])).toEqual(['30245', '30244']);
    expect(table(html, 'prior by class_id').map((r) => r[1])).toEqual(['12341', '12340']);
    // Circle Graph: prior 0.5, so 50001 (0.55) is harder than 50002 (0.325).
    const circle = html.indexOf('id="per-value-Circle.20.Graph"');
    expect(circle).toBeGreaterThan(0);
    expect(table(html.slice(circle), 'guess and slip by item_id: 2 values').map((r) => r[1])).toEqual(['50001', '50002']);
    expect(html).toContain("The concept's own values, used for values not seen in training: prior 0.500, learn 0.100, guess 0.250, slip 0.150");
    // The fallback concept's per_value is not shown.
    expect(html).not.toContain('never-shown');
    expect(html).not.toContain(HOSTILE_VALUE);
  });

  it('draws one panel per concept and variant, one dot per value and parameter', async () => {
    const html = await renderFitReport(report(handMadeParamsV2()));
    const section = html.slice(html.indexOf('<section id="per-value">'), html.indexOf('</section>', html.indexOf('<section id="per-value">')));
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
