/** `npx bkt` in a clone runs the clone's own build (linked by the packages/cli workspace), not a registry package. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

it('npx bkt --version prints this package version without installing anything', () => {
  const { version } = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as { version: string };
  const out = execFileSync('npx', ['--no-install', 'bkt', '--version'], { cwd: root, encoding: 'utf8' });
  expect(out.trim()).toBe(version);
});
