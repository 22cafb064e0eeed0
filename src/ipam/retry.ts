// Bounded, jittered retries for compare-and-swap loops. Every racing IPAM write goes through
// here: an attempt either finishes or throws a conflict (a datastore CAS failure, or a
// RetryableConflict raised by the allocator when it sees state move under it); conflicts are
// retried after a random sleep in [0, min(maxDelay, base·2^n)) ("full jitter", so racing writers
// spread out instead of colliding again), and after `attempts` tries the operation fails with
// IpamError RetriesExhausted. There is no unbounded loop anywhere in IPAM.

import { isDatastoreError } from '../datastore/index.js';
import { IpamError } from './api.js';

export interface RetryPolicy {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** Calico retries datastore conflicts up to 100 times (ipam.go datastoreRetries). */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 100, baseDelayMs: 1, maxDelayMs: 64 };

/** Raised by an attempt that found the datastore changed under it; the attempt is retried. */
export class RetryableConflict extends Error {
  override readonly name = 'RetryableConflict';
  readonly code = 'Conflict';
}

export function isConflict(err: unknown): boolean {
  return (
    err instanceof RetryableConflict ||
    isDatastoreError(err, 'Conflict') ||
    isDatastoreError(err, 'AlreadyExists') ||
    isDatastoreError(err, 'NotFound')
  );
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Run `attempt` until it returns, retrying conflicts. `onConflict` runs before each retry (drop
 * cached state). Anything that is not a conflict propagates at once.
 */
export async function withRetries<T>(
  what: string,
  policy: RetryPolicy,
  attempt: (n: number) => Promise<T>,
  onConflict: (err: unknown) => void = () => {},
): Promise<T> {
  let last: unknown;
  for (let n = 0; n < policy.attempts; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!isConflict(err)) throw err;
      last = err;
      onConflict(err);
      const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(n, 20));
      if (n > 0) await sleep(Math.random() * cap);
    }
  }
  throw new IpamError('RetriesExhausted', `${what}: datastore conflicts did not settle after ${policy.attempts} attempts`, { cause: last });
}
