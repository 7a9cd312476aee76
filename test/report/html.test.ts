/** The report page shell: escaping, fragment ids, and a CSP whose hashes are those of the inline style and script. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { anchorId, CONTENT_SECURITY_POLICY, escapeHtml, htmlPage, sortableTable } from '../../src/report/html.js';

describe('report html', () => {
  it('escapes the five HTML metacharacters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('gives distinct, safe fragment ids for distinct ids', () => {
    const ids = ['a b', 'a_b', 'a.b', 'a"b', '<x>', 'é'];
    const anchors = ids.map((i) => anchorId('concept', i));
    expect(new Set(anchors).size).toBe(ids.length);
    for (const a of anchors) expect(a).toMatch(/^[A-Za-z0-9_.-]+$/);
  });

  it('allows exactly its inline style and script by hash, and nothing from anywhere', () => {
    const page = htmlPage('<t>', '<p>x</p>');
    const style = /<style>([\s\S]*?)<\/style>/.exec(page)![1];
    const script = /<script>([\s\S]*?)<\/script>/.exec(page)![1];
    const hash = (t: string) => `'sha256-${createHash('sha256').update(t).digest('base64')}'`;
    expect(CONTENT_SECURITY_POLICY).toContain(`style-src ${hash(style)}`);
    expect(CONTENT_SECURITY_POLICY).toContain(`script-src ${hash(script)}`);
    expect(CONTENT_SECURITY_POLICY).toMatch(/^default-src 'none';/);
    expect(page).toContain('<title>&lt;t&gt;</title>');
    expect(page.match(/<script/g)).toHaveLength(1);
  });

  it('writes sort keys for the sorting script, blank for missing numbers', () => {
    const html = sortableTable(
      [{ label: 'v', type: 'number', html: (r: { v: number | null }) => String(r.v), sort: (r) => r.v }],
      [{ v: 2 }, { v: null }],
    );
    expect(html).toContain('<td data-sort="2">2</td>');
    expect(html).toContain('<td data-sort="">null</td>');
  });
});
