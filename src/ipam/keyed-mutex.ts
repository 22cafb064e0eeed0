// One-at-a-time sections per key (per node) inside one process. Calico's CNI takes a host-wide
// file lock around IPAM for the same reason: concurrent requests for one node would otherwise
// race for the same affine block and spend their time in CAS retries. Correctness never rests on
// this lock — every write is still a CAS — it only removes pointless contention.

export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, f: () => Promise<T>): Promise<T> {
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
    }
  }
}
