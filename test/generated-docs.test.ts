/**
 * docs/cli.md and docs/configuration.md are generated from the code; the checked-in files must equal what the code
 * gives now, and the generated text must cover every command, option and setting.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { expect, it } from 'vitest';
import { GENERATED_DOCS, renderCliDocs, renderConfigurationDocs } from '../scripts/generated-docs.js';
import { buildProgram } from '../src/cli/program.js';
import { SETTINGS } from '../src/config.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

it.each(GENERATED_DOCS.map((d) => [d.path, d] as const))('%s is up to date', (path, doc) => {
  const checkedIn = readFileSync(join(root, path), 'utf8');
  expect(checkedIn === doc.render(), `${path} differs from the code: run \`${doc.command}\` and commit the result`).toBe(true);
});

function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)];
}

it('docs/cli.md has a section for every command and a row for every option', () => {
  const text = renderCliDocs();
  for (const cmd of allCommands(buildProgram()).slice(1)) {
    const names: string[] = [];
    for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
    expect(text).toContain(`\`${names.join(' ')}\``);
    for (const option of cmd.options) {
      if (option.long && option.long !== '--help') expect(text, `${names.join(' ')} ${option.long}`).toContain(option.long);
    }
  }
  expect(text).toContain('| `-o, --output <file>` | params file to write (JSON, or CSV with --format csv), atomically ("-" for stdout) (required) |');
});

it('docs/configuration.md has one row per setting, with its default', () => {
  const rows = renderConfigurationDocs().split('\n').filter((l) => l.startsWith('| `'));
  expect(rows.map((r) => r.split('`')[1])).toEqual(SETTINGS.map((s) => s.name));
  for (const [i, s] of SETTINGS.entries()) expect(rows[i]).toContain(s.default.replace(/\|/g, '\\|'));
});
