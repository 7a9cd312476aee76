/** bkt-engine's pure core: no I/O, no Node built-ins, no dependencies. Runs unchanged in a browser. */
export * from './params.js';
export * from './update.js';
export * from './trace.js';
export * from './dataset.js';
export * from './options.js';
export * from './em.js';
export * from './restarts.js';
export * from './quality.js';
export * from './fit.js';
export * from './build.js';
export * from './evaluate.js';
export * from './cv.js';
export * from './growable.js';
export * from './report.js';
