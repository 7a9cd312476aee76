/** Retry delays for the relay while the graph (or the outbox) is unavailable. */

export interface BackoffPolicy {
  /** Delay ceiling of the first retry, in ms. */
  readonly initialMs: number;
  /** No delay exceeds this, in ms. */
  readonly maxMs: number;
}

/**
 * Delay before retry number `attempt` (1-based): the ceiling doubles per attempt up to `maxMs`, and the delay is drawn
 * uniformly from the upper half of it ("equal jitter"), so instances that failed together do not retry together while
 * each still waits at least half the ceiling.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be an integer >= 1, got ${attempt}`);
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt - 1, 52));
  return ceiling / 2 + random() * (ceiling / 2);
}

/** Throws a RangeError naming the field when a policy is unusable. */
export function checkBackoffPolicy(policy: BackoffPolicy): BackoffPolicy {
  if (!(Number.isFinite(policy.initialMs) && policy.initialMs > 0)) {
    throw new RangeError(`backoff.initialMs must be a positive number of ms, got ${policy.initialMs}`);
  }
  if (!(Number.isFinite(policy.maxMs) && policy.maxMs >= policy.initialMs)) {
    throw new RangeError(`backoff.maxMs must be a number of ms >= backoff.initialMs (${policy.initialMs}), got ${policy.maxMs}`);
  }
  return policy;
}
