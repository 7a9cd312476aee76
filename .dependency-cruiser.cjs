/**
 * Layer rules, checked by `npm run lint:deps` (part of `npm test`).
 *
 *   src/bkt      pure core: no Node built-ins, no packages, no other layer
 *   src/fitting  core on worker threads (Node only)
 *   src/service  use cases; imports the core, declares ports
 *   src/store, src/graph  adapters behind the service's ports
 *   src/http, src/cli     faces; they go through the service layer, never the reverse
 */
module.exports = {
  forbidden: [
    {
      name: 'core-is-pure',
      comment: 'src/bkt runs unchanged in a browser: it imports only itself.',
      severity: 'error',
      from: { path: '^src/bkt/' },
      to: { pathNot: '^src/bkt/' },
    },
    {
      name: 'core-no-node-builtins',
      severity: 'error',
      from: { path: '^src/bkt/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'service-not-faces',
      comment: 'The service layer is called by HTTP and the CLI, never the other way.',
      severity: 'error',
      from: { path: '^src/(service|store|graph|fitting)/' },
      to: { path: '^src/(http|cli)/' },
    },
    {
      name: 'http-not-cli',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'service-not-adapters',
      comment: 'Use cases depend on ports they declare, not on concrete store or graph adapters.',
      severity: 'error',
      from: { path: '^src/service/' },
      to: { path: '^src/(store|graph)/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js'] },
  },
};
