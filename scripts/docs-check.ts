/**
 * The docs check: user docs state what the software does and how to reproduce each figure, never how figures were
 * obtained over time. This finds narrative words and relative links to missing files in README.md, docs/ and bench/.
 * test/docs.test.ts runs it in `npm test`; `npm run docs:check` prints the same findings.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lexer, type Token, type Tokens } from 'marked';

/** One finding: where, and what is wrong there. */
export interface DocFinding {
  readonly file: string;
  readonly line: number;
  readonly problem: string;
}

/**
 * The one allowed way to name a machine beside a figure: "2-core x86 VM, Node 20, PostgreSQL 15" (the PostgreSQL
 * part optional). Anything else that says VM (this VM, the VM of, VMs) is narrative.
 */
const MACHINE_PHRASE = /\b\d+-(?:core|vCPU) (?:[A-Za-z0-9_]+ )?VM, Node(?:\.js)? \d+(?:, PostgreSQL \d+)?/g;

/** Words before the machine phrase that turn it into narrative again ("this 2-core x86 VM", "the same ..."). */
const DEMONSTRATIVE_BEFORE = /\b(?:this|that|these|those|the|same|previous|another|latest|slower|faster)\s+$/i;

/** Narrative patterns, each with the reason shown to the writer. */
const NARRATIVE: readonly { readonly pattern: RegExp; readonly why: string }[] = [
  { pattern: /\bsessions?\b/gi, why: 'speaks of sessions' },
  { pattern: /\bVMs?\b/g, why: 'speaks of a VM outside the one machine phrase ("2-core x86 VM, Node 20, PostgreSQL 15")' },
  // Up to two words between ("this 2-vCPU machine", "the same loaded machine").
  { pattern: /\b(?:this|that|the same|the previous|another|a slower|a faster)(?: [\w-]+){0,2} machine\b/gi, why: 'speaks of "this machine"' },
  { pattern: /\brun #?\d+\b(?![-.,%]?\d|%| (?:times|students|concepts|rows|workers|threads|folds))/gi, why: 'names a run by number' },
  { pattern: /\bscratch script\b/gi, why: 'cites a script that is not in the repository' },
];

/** Domain phrases that contain a listed word and are not narrative. */
const ALLOWED = /\bpractice sessions?\b/gi;

/** Replaces each match with spaces so that offsets (and so line numbers) stay where they were. */
function blank(text: string, pattern: RegExp, keep?: (before: string) => boolean): string {
  return text.replace(pattern, (match, ...rest) => {
    const offset = rest[rest.length - 2] as number;
    if (keep?.(text.slice(Math.max(0, offset - 24), offset))) return match;
    return ' '.repeat(match.length);
  });
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** The narrative findings in one Markdown text. */
export function findNarrative(file: string, text: string): DocFinding[] {
  let checked = blank(text, ALLOWED);
  checked = blank(checked, MACHINE_PHRASE, (before) => DEMONSTRATIVE_BEFORE.test(before));
  const findings: DocFinding[] = [];
  for (const { pattern, why } of NARRATIVE) {
    for (const match of checked.matchAll(pattern)) {
      findings.push({ file, line: lineOf(text, match.index), problem: `"${match[0]}": ${why}` });
    }
  }
  return findings.sort((a, b) => a.line - b.line);
}

function collectLinks(tokens: readonly Token[], into: string[]): void {
  for (const token of tokens) {
    if (token.type === 'link' || token.type === 'image') into.push((token as Tokens.Link).href);
    const children = (token as { tokens?: Token[] }).tokens;
    if (children) collectLinks(children, into);
    if (token.type === 'list') for (const item of (token as Tokens.List).items) collectLinks(item.tokens, into);
    if (token.type === 'table') {
      const table = token as Tokens.Table;
      for (const cell of [...table.header, ...table.rows.flat()]) collectLinks(cell.tokens, into);
    }
  }
}

/** Relative links in one Markdown file (at `path`, inside `root`) whose target file does not exist. */
export function findBrokenLinks(root: string, path: string, text: string): DocFinding[] {
  const hrefs: string[] = [];
  collectLinks(new Lexer().lex(text), hrefs);
  const findings: DocFinding[] = [];
  for (const href of hrefs) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('#') || href.startsWith('//')) continue;
    const target = decodeURIComponent(href.split('#')[0]!.split('?')[0]!);
    const resolved = target.startsWith('/') ? join(root, target) : resolve(dirname(path), target);
    if (!existsSync(resolved)) {
      const at = text.indexOf(href);
      findings.push({ file: relative(root, path), line: at < 0 ? 0 : lineOf(text, at), problem: `link to ${href}: no such file` });
    }
  }
  return findings;
}

function markdownUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.md') && !name.split(/[\\/]/).includes('node_modules'))
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile())
    .sort();
}

/** The user docs the check covers: README.md, docs/**\/*.md, bench/**\/*.md and each package's README. */
export function userDocs(root: string): string[] {
  const packages = existsSync(join(root, 'packages'))
    ? readdirSync(join(root, 'packages')).map((p) => join(root, 'packages', p, 'README.md')).filter(existsSync)
    : [];
  return [join(root, 'README.md'), ...markdownUnder(join(root, 'docs')), ...markdownUnder(join(root, 'bench')), ...packages];
}

/** Every finding over the user docs of the repository at `root`. */
export function checkDocs(root: string): DocFinding[] {
  return userDocs(root).flatMap((path) => {
    const text = readFileSync(path, 'utf8');
    return [...findNarrative(relative(root, path), text), ...findBrokenLinks(root, path, text)];
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const findings = checkDocs(root);
  for (const f of findings) console.log(`${f.file}:${f.line}: ${f.problem}`);
  console.log(findings.length === 0 ? 'docs check: clean' : `docs check: ${findings.length} finding(s)`);
  process.exitCode = findings.length === 0 ? 0 : 1;
}
