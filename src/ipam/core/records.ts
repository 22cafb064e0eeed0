// Arithmetic on the small IPAM records beside blocks (their types and codecs are the model's,
// model/ipam-records.ts): a handle's per-block counts and the block cap of one request.

import { DEFAULT_MAX_BLOCKS_PER_HOST, type IpamConfig, type IpamHandle } from '../../model/index.js';

/** Add (or with a negative delta, remove) addresses of a block to a handle's counts. */
export function adjustHandle(h: IpamHandle, blockCidr: string, delta: number): IpamHandle {
  const block = { ...h.block };
  const n = (block[blockCidr] ?? 0) + delta;
  if (n > 0) block[blockCidr] = n;
  else delete block[blockCidr];
  return { ...h, block };
}

/** The block cap for one request: the smaller of the configured and requested caps that are set. */
export function effectiveMaxBlocks(config: IpamConfig, requested?: number): number {
  const caps = [config.maxBlocksPerHost, requested ?? 0].filter((n) => n > 0);
  return caps.length === 0 ? DEFAULT_MAX_BLOCKS_PER_HOST : Math.min(...caps);
}
