// Calico's etcd key layout for IPAM (calico-internals.md §1.3). Keys are the compatibility
// surface: a Calico component pointed at the same etcd must find blocks, affinities and handles
// where it expects them. This file and `kinds.ts` are the only places that spell a key root.
//
//   /calico/ipam/v2/assignment/ipv4/block/10.244.0.0-26      IPAMBlock
//   /calico/ipam/v2/host/<node>/ipv4/block/10.244.0.0-26     BlockAffinity
//   /calico/ipam/v2/handle/<handleID>                        IPAMHandle
//   /calico/ipam/v2/config                                   IPAM configuration
//
// Invariant: `parseXxxKey(xxxKey(...))` gives the parts back; any other key parses to undefined.

import { type CIDR, type IPFamily, cidrKeySegment, parseCIDRKeySegment } from '../ip/index.js';

export const IPAM_ROOT = '/calico/ipam/v2/';
export const IPAM_CONFIG_KEY = `${IPAM_ROOT}config`;
export const HANDLE_PREFIX = `${IPAM_ROOT}handle/`;
export const HOST_PREFIX = `${IPAM_ROOT}host/`;
/** Everything Calico keeps in etcd (resources and IPAM): one listing of it is one consistent view. */
export const CALICO_ROOT = '/calico/';

export const familyName = (family: IPFamily): string => (family === 4 ? 'ipv4' : 'ipv6');

export function blockPrefix(family: IPFamily): string {
  return `${IPAM_ROOT}assignment/${familyName(family)}/block/`;
}

// Block keys are looked up on every allocation for each of the node's blocks; the CIDR objects
// of cached affinities and blocks live on, so remembering their keys saves formatting them again.
// layer: memo — a cache of a pure function's results, invisible to callers.
const blockKeys = new WeakMap<CIDR, string>();

export function blockKey(block: CIDR): string {
  let key = blockKeys.get(block);
  if (key === undefined) {
    key = blockPrefix(block.family) + cidrKeySegment(block);
    blockKeys.set(block, key);
  }
  return key;
}

/** Affinities of one node for one family. */
export function hostAffinityPrefix(node: string, family: IPFamily): string {
  return `${HOST_PREFIX}${node}/${familyName(family)}/block/`;
}

export function affinityKey(node: string, block: CIDR): string {
  return hostAffinityPrefix(node, block.family) + cidrKeySegment(block);
}

export function handleKey(handleId: string): string {
  return HANDLE_PREFIX + handleId;
}

const BLOCK_KEY = /^\/calico\/ipam\/v2\/assignment\/(ipv4|ipv6)\/block\/([^/]+)$/;
const AFFINITY_KEY = /^\/calico\/ipam\/v2\/host\/([^/]+)\/(ipv4|ipv6)\/block\/([^/]+)$/;

/** The block CIDR named by a block key, or undefined for a key that is not a block. */
export function parseBlockKey(key: string): CIDR | undefined {
  const m = BLOCK_KEY.exec(key);
  if (!m) return undefined;
  try {
    return parseCIDRKeySegment(m[2]!);
  } catch {
    return undefined;
  }
}

/** Node and block of an affinity key, or undefined for any other key. */
export function parseAffinityKey(key: string): { node: string; block: CIDR } | undefined {
  const m = AFFINITY_KEY.exec(key);
  if (!m) return undefined;
  try {
    return { node: m[1]!, block: parseCIDRKeySegment(m[3]!) };
  } catch {
    return undefined;
  }
}

export function parseHandleKey(key: string): string | undefined {
  return key.startsWith(HANDLE_PREFIX) && key.length > HANDLE_PREFIX.length && !key.slice(HANDLE_PREFIX.length).includes('/')
    ? key.slice(HANDLE_PREFIX.length)
    : undefined;
}

/** Handle ids may not contain "/" (they are one key segment) and must be non-empty. */
export function isValidHandleId(id: string): boolean {
  return id.length > 0 && id.length <= 512 && !id.includes('/');
}

export function isValidNodeName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && !name.includes('/');
}
