/**
 * The page shell shared by `bkt report` and GET /admin/report: escaping, the inline stylesheet and sorting script,
 * and the Content-Security-Policy that allows exactly those two by hash and nothing else (no network at all).
 */
import { createHash } from 'node:crypto';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and for quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** A fragment id from any string: safe characters kept, the rest hex-coded, so distinct ids stay distinct. */
export function anchorId(prefix: string, id: string): string {
  return `${prefix}-${id.replace(/[^A-Za-z0-9_-]/g, (c) => `.${c.codePointAt(0)!.toString(16)}.`)}`;
}

const STYLE = `
:root { color-scheme: light; --ink: #1d2430; --muted: #5b6472; --line: #d9dee5; --warn: #b3261e; --warn-bg: #fdecea; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1400px; padding: 1.5rem; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); background: #fff; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; padding-top: .5rem; border-top: 1px solid var(--line); }
h3 { font-size: 1rem; margin: 1rem 0 .25rem; }
p, li { max-width: 80ch; }
.muted { color: var(--muted); }
.warn { color: var(--warn); font-weight: 600; }
.note { background: #f4f6f9; border-left: 3px solid var(--muted); padding: .5rem .75rem; max-width: 100ch; }
.note.sampled { border-left-color: var(--warn); background: var(--warn-bg); }
nav a { margin-right: 1rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .5rem 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; font-family: ui-monospace, "DejaVu Sans Mono", monospace; overflow-wrap: anywhere; }
figure { margin: .5rem 0 1rem; overflow-x: auto; }
figure svg { display: block; max-width: none; height: auto; }
figcaption { color: var(--muted); max-width: 100ch; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: .2rem .5rem; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
td.reasons { white-space: normal; text-align: left; min-width: 20ch; max-width: 60ch; }
thead th { position: sticky; top: 0; background: #fff; border-bottom: 2px solid var(--ink); }
thead th button { font: inherit; font-weight: 600; border: 0; background: none; padding: 0; cursor: pointer; color: inherit; }
thead th[aria-sort="ascending"] button::after { content: " \\25B2"; }
thead th[aria-sort="descending"] button::after { content: " \\25BC"; }
tr.flagged td:first-child { border-left: 3px solid var(--warn); }
.table-wrap { overflow-x: auto; max-height: 80vh; }
details { margin: .25rem 0; }
summary { cursor: pointer; }
`;

/**
 * Click a column header to sort by it (again to reverse). Cells carry their sort key in data-sort; the table is
 * written pre-sorted (flagged first), so it reads fine without script.
 */
const SORT_SCRIPT = `
for (const table of document.querySelectorAll('table.sortable')) {
  const heads = [...table.tHead.rows[0].cells];
  heads.forEach((th, col) => {
    const button = th.querySelector('button');
    if (!button) return;
    button.addEventListener('click', () => {
      const ascending = th.getAttribute('aria-sort') !== 'ascending';
      heads.forEach((h) => h.removeAttribute('aria-sort'));
      th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      const numeric = th.dataset.type === 'number';
      const key = (row) => {
        const v = row.cells[col].dataset.sort ?? row.cells[col].textContent;
        return numeric ? (v === '' ? NaN : Number(v)) : v;
      };
      const rows = [...table.tBodies[0].rows];
      rows.sort((a, b) => {
        const x = key(a), y = key(b);
        if (numeric) {
          if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : 1;
          if (Number.isNaN(y)) return -1;
          return ascending ? x - y : y - x;
        }
        return ascending ? x.localeCompare(y) : y.localeCompare(x);
      });
      table.tBodies[0].append(...rows);
    });
  });
}
`;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** The policy of every report page (in its meta element): nothing loads from anywhere; only this stylesheet and script run. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src ${sha256(STYLE)}`,
  `script-src ${sha256(SORT_SCRIPT)}`,
  "img-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/** The same policy as an HTTP header, which may also forbid framing (a meta element cannot). */
export const CONTENT_SECURITY_POLICY_HEADER = `${CONTENT_SECURITY_POLICY}; frame-ancestors 'none'`;

/** A whole page: `body` is trusted HTML built with escapeHtml; the title is escaped here. */
export function htmlPage(title: string, body: string): string {
  return (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(CONTENT_SECURITY_POLICY)}">\n` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n<meta name="referrer" content="no-referrer">\n' +
    `<title>${escapeHtml(title)}</title>\n<style>${STYLE}</style>\n</head>\n<body>\n${body}\n` +
    `<script>${SORT_SCRIPT}</script>\n</body>\n</html>\n`
  );
}

export interface Column<Row> {
  readonly label: string;
  readonly type: 'number' | 'text';
  /** The cell's HTML (escaped by the caller). */
  readonly html: (row: Row) => string;
  /** The sort key; numbers for number columns (null sorts last). Default: the cell's text. */
  readonly sort?: (row: Row) => number | string | null;
  readonly className?: string;
}

/** A table sortable by any column header (see SORT_SCRIPT); rows are shown in the order given. */
export function sortableTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[], rowClass?: (row: Row) => string): string {
  const head = columns
    .map((c) => `<th data-type="${c.type}"${c.type === 'text' ? ' class="text"' : ''}><button type="button">${escapeHtml(c.label)}</button></th>`)
    .join('');
  const body = rows
    .map((r) => {
      const cls = rowClass?.(r);
      const cells = columns
        .map((c) => {
          const key = c.sort?.(r);
          const attr = key === undefined ? '' : ` data-sort="${key === null || (typeof key === 'number' && !Number.isFinite(key)) ? '' : escapeHtml(key)}"`;
          return `<td${c.className ? ` class="${c.className}"` : ''}${attr}>${c.html(r)}</td>`;
        })
        .join('');
      return `<tr${cls ? ` class="${cls}"` : ''}>${cells}</tr>`;
    })
    .join('\n');
  return `<div class="table-wrap"><table class="sortable"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

/** A number for a table cell: fixed digits, or a dash for null/NaN. */
export function num(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);
}

/** An integer with thousands separators. */
export function int(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}

/** Definition list of facts (label: value), values escaped. */
export function facts(entries: readonly (readonly [string, unknown])[]): string {
  return `<dl class="facts">${entries.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`;
}
