#!/usr/bin/env node
// `npx bkt` inside a clone: runs the clone's built command line (dist/, built by `npm ci`).
await import('../../dist/cli/main.js');
