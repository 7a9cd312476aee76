/** One seed for every property test in a run: printed, and overridable with BKT_TEST_SEED to replay a failure. */
export const TEST_SEED = process.env.BKT_TEST_SEED ? Number(process.env.BKT_TEST_SEED) : (Date.now() % 2 ** 31);
console.log(`property tests: BKT_TEST_SEED=${TEST_SEED}`);
