// Seeded pseudo-random numbers: deterministic sequences for block order, stress tests and
// benchmarks. Pure (listed in the purity test), so pure cores such as IPAM's block order use it.

/** mulberry32: a small, fast, well-distributed generator of 32-bit unsigned integers. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** The same sequence scaled to [0, 1). */
export function unitRandom(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}
