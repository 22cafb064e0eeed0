// One-at-a-time sections per key (per node) inside one process. Calico's CNI takes a host-wide
// file lock around IPAM for the same reason: concurrent requests for one node would otherwise
// race for the same affine block and spend their time in CAS retries. Correctness never rests on
// this lock — every write is still a CAS — it only removes pointless contention.

export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly counts = new Map<string, number>();

  /** Sections for `key` running or waiting to run (the caller's own included). */
  pending(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  async run<T>(key: string, f: () => Promise<T>): Promise<T> {
    this.counts.set(key, this.pending(key) + 1);
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    await prev;
    try {
      return await f();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
      const left = this.pending(key) - 1;
      if (left > 0) this.counts.set(key, left);
      else this.counts.delete(key);
    }
  }
}
