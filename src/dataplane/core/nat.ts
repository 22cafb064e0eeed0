// natOutgoing as nftables (calico-internals.md §2.1, Felix's cali-nat-outgoing): traffic from a
// pool with natOutgoing to a destination outside every pool is masqueraded to the node's address
// (or SNATed to FelixConfiguration natOutgoingAddress, IPv4), for IPv4 and IPv6. Pod-to-pod
// traffic is never translated: every pool is excluded as a destination.
//
// The rules live in Tabby's own table `inet tabby-nat` (BRIEF: the policy dataplane owns
// `inet tabby`), replaced as one `nft -f` transaction. The table carries a comment with a digest
// of its content, so a restarted agent sees that the kernel already holds what it wants and sends
// nothing (existing NAT bindings live in conntrack either way).
//
// Pure: renders text; the driver runs it.

import type { NatConfig } from './desired.js';

export const NAT_TABLE = 'tabby-nat';
export const NAT_FAMILY = 'inet';

/** FNV-1a, 32 bits, as hex: a content digest, not a security measure. */
export function digest(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

export const natWanted = (c: NatConfig): boolean => c.natPools4.length > 0 || c.natPools6.length > 0;

function set(name: string, type: string, elements: readonly string[]): string[] {
  return [`  set ${name} {`, `    type ${type}; flags interval;`, ...(elements.length > 0 ? [`    elements = { ${elements.join(', ')} }`] : []), '  }'];
}

/** The table's body (without the comment): what the digest covers. */
export function natBody(c: NatConfig): string[] {
  const rules: string[] = [];
  if (c.natPools4.length > 0) rules.push(`    ip saddr @nat-pools4 ip daddr != @all-pools4 ${c.outgoingAddress4 ? `snat ip to ${c.outgoingAddress4}` : 'masquerade'}`);
  if (c.natPools6.length > 0) rules.push('    ip6 saddr @nat-pools6 ip6 daddr != @all-pools6 masquerade');
  return [
    ...set('all-pools4', 'ipv4_addr', c.pools4),
    ...set('nat-pools4', 'ipv4_addr', c.natPools4),
    ...set('all-pools6', 'ipv6_addr', c.pools6),
    ...set('nat-pools6', 'ipv6_addr', c.natPools6),
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    ...rules,
    '  }',
  ];
}

/** The comment that marks the table's content. */
export const natComment = (c: NatConfig): string => (natWanted(c) ? `tabby natOutgoing ${digest(natBody(c).join('\n'))}` : '');

/**
 * One `nft -f` script that replaces the table (create-if-missing, delete, create: atomic), or
 * removes it when no pool wants NAT.
 */
export function renderNat(c: NatConfig): string {
  const lines = [`table ${NAT_FAMILY} ${NAT_TABLE} {}`, `delete table ${NAT_FAMILY} ${NAT_TABLE}`];
  if (natWanted(c)) lines.push(`table ${NAT_FAMILY} ${NAT_TABLE} {`, `  comment "${natComment(c)}"`, ...natBody(c), '}');
  return lines.join('\n') + '\n';
}

/** The comment of the table as `nft list table` printed it ('' when absent). */
export function parseNatComment(listing: string): string {
  return /^\s*comment "([^"]*)"/m.exec(listing)?.[1] ?? '';
}
