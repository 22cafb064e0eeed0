// Addresses and CIDRs of both families as {family, bigint}: parsing, RFC 5952 formatting,
// containment, overlap, block split and iteration, Calico's key spelling. Pure.
export * from './address.js';
export * from './cidr.js';
