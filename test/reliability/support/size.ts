/** The full run (`npm run test:reliability`) sets BKT_RELIABILITY_FULL=1; `npm test` runs the small, fast sizes. */
export const FULL = process.env.BKT_RELIABILITY_FULL === '1';

/** `full` in the full run, `fast` in CI. */
export const size = <T>(fast: T, full: T): T => (FULL ? full : fast);
