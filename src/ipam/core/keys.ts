// Calico's etcd key layout for IPAM (calico-internals.md §1.3), plus the resource prefixes IPAM
// reads. Keys are the compatibility surface: a Calico component pointed at the same etcd must
// find blocks, affinities and handles where it expects them.
//
//   /calico/ipam/v2/assignment/ipv4/block/10.244.0.0-26      IPAMBlock
//   /calico/ipam/v2/host/<node>/ipv4/block/10.244.0.0-26     BlockAffinity
//   /calico/ipam/v2/handle/<handleID>                        IPAMHandle
//   /calico/ipam/v2/config                                   IPAM configuration

import { type CIDR, type IPFamily, cidrKeySegment, parseCIDRKeySegment } from '../../ip/index.js';

export const IPAM_ROOT = '/calico/ipam/v2/';
export const IPAM_CONFIG_KEY = '/calico/ipam/v2/config';
export const HANDLE_PREFIX = '/calico/ipam/v2/handle/';
export const HOST_PREFIX = '/calico/ipam/v2/host/';

const RESOURCES = '/calico/resources/v3/projectcalico.org/';
export const IPPOOL_PREFIX = `${RESOURCES}ippools/`;
export const IPRESERVATION_PREFIX = `${RESOURCES}ipreservations/`;
export const NODE_PREFIX = `${RESOURCES}nodes/`;
export const WORKLOADENDPOINT_PREFIX = `${RESOURCES}workloadendpoints/`;

export const familyName = (family: IPFamily): string => (family === 4 ? 'ipv4' : 'ipv6');

export function blockPrefix(family: IPFamily): string {
  return `${IPAM_ROOT}assignment/${familyName(family)}/block/`;
}

// Block keys are looked up on every allocation for each of the node's blocks; the CIDR objects
// of cached affinities and blocks live on, so remembering their keys saves formatting them again.
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

export function nodeKey(node: string): string {
  return NODE_PREFIX + node;
}

/** The block CIDR named by a block key, or undefined for a key that is not a block. */
export function parseBlockKey(key: string): CIDR | undefined {
  const m = /^\/calico\/ipam\/v2\/assignment\/(ipv4|ipv6)\/block\/([^/]+)$/.exec(key);
  if (!m) return undefined;
  try {
    return parseCIDRKeySegment(m[2]!);
  } catch {
    return undefined;
  }
}

/** Node and block of an affinity key, or undefined for any other key. */
export function parseAffinityKey(key: string): { node: string; block: CIDR } | undefined {
  const m = /^\/calico\/ipam\/v2\/host\/([^/]+)\/(ipv4|ipv6)\/block\/([^/]+)$/.exec(key);
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
