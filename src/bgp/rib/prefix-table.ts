// One family's prefixes → RibEntry. IPv4 keys are the network address as a signed 32-bit
// integer in one map per prefix length, so lookups hash small integers (no allocation per
// lookup, no bigint or string keys); IPv6 keys are "hex/len" strings.

import type { CIDR, IPFamily } from '../../ip/index.js';

export class PrefixTable<E> {
  private readonly byLength: (Map<number, E> | undefined)[] = [];
  private readonly v6 = new Map<string, E>();
  private count = 0;

  constructor(readonly family: IPFamily) {}

  get size(): number {
    return this.count;
  }

  get(p: CIDR): E | undefined {
    return this.family === 4 ? this.byLength[p.prefix]?.get(Number(p.base) | 0) : this.v6.get(`${p.base.toString(16)}/${p.prefix}`);
  }

  set(p: CIDR, e: E): void {
    if (this.family === 4) {
      let m = this.byLength[p.prefix];
      if (!m) this.byLength[p.prefix] = m = new Map();
      // One hash lookup, not two: the map's size tells whether the key is new.
      const before = m.size;
      m.set(Number(p.base) | 0, e);
      this.count += m.size - before;
    } else {
      const before = this.v6.size;
      this.v6.set(`${p.base.toString(16)}/${p.prefix}`, e);
      this.count += this.v6.size - before;
    }
  }

  delete(p: CIDR): void {
    const gone = this.family === 4 ? this.byLength[p.prefix]?.delete(Number(p.base) | 0) : this.v6.delete(`${p.base.toString(16)}/${p.prefix}`);
    if (gone) this.count--;
  }

  *values(): Generator<E> {
    if (this.family === 6) {
      yield* this.v6.values();
      return;
    }
    for (const m of this.byLength) if (m) yield* m.values();
  }
}
