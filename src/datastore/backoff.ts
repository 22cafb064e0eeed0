// Retry timing shared by the watch loop and the syncer: exponential back-off with jitter, so
// many clients that lost the same etcd do not come back in lock-step.

export interface BackoffOptions {
  /** First retry delay (default 100 ms); doubles per failure up to maxMs. */
  minMs?: number;
  /** Longest delay between retries (default 5 s). */
  maxMs?: number;
}

/** Delay before retry number `attempt` (0-based): min·2^attempt capped at max, then ±50% jitter. */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}, random: () => number = Math.random): number {
  const min = opts.minMs ?? 100;
  const max = opts.maxMs ?? 5000;
  const base = Math.min(max, min * 2 ** Math.min(attempt, 30));
  return Math.round(base * (0.5 + random()));
}

/** A sleep that `wakeAll()` can cut short (for prompt shutdown). */
export class Sleeper {
  private readonly wakers = new Set<() => void>();

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  wakeAll(): void {
    for (const wake of [...this.wakers]) wake();
  }
}
