/** The service layer's public door: use cases, their ports and errors. */
export * from './errors.js';
export * from './ports.js';
export * from './parameters-cache.js';
export * from './item-params.js';
export * from './plan-responses.js';
export * from './mastery-service.js';
export * from './pair-queue.js';
export * from './fit-ports.js';
export * from './fit-jobs.js';
export * from './admin-service.js';
export * from './import-log.js';
export * from './report-service.js';
