// The order in which a node tries a pool's subnets when claiming a block (Calico's
// randomBlockGenerator): start at a pseudo-random subnet and walk forward, wrapping round. The
// start is seeded from an FNV-1a hash of the hostname, so one node retries in the same order
// (deterministic, testable) while different nodes start in different places and rarely race for
// the same subnet. Single-address blocks use a caller-supplied (time-based) seed instead, as
// Calico does, because there the node's order would make every claim collide with its last.

import { type CIDR, familyBits, subnetAt, subnetCount } from '../../ip/index.js';
import { mulberry32 } from '../../util/index.js';
import type { IpamPool } from './pools.js';

export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A uniform-enough bigint in [0, n) from a 32-bit generator (64 spare bits keep the bias negligible). */
export function randomBelow(next: () => number, n: bigint): bigint {
  let bits = 0;
  for (let x = n; x > 0n; x >>= 1n) bits++;
  let v = 0n;
  for (let got = 0; got < bits + 64; got += 32) v = (v << 32n) | BigInt(next());
  return v % n;
}

export function blockOrderSeed(pool: IpamPool, host: string, timeSeed: number): number {
  return pool.blockSize === familyBits(pool.cidr.family) ? timeSeed : fnv1a32(host);
}

/** Every block-sized subnet of the pool, once each, from the seeded start. Lazy. */
export function* blockCandidates(pool: IpamPool, seed: number): Generator<CIDR> {
  const n = subnetCount(pool.cidr, pool.blockSize);
  // mulberry32 is enough to spread claims, and deterministic per hostname.
  const start = randomBelow(mulberry32(seed), n);
  for (let i = 0n; i < n; i++) yield subnetAt(pool.cidr, pool.blockSize, (start + i) % n);
}
