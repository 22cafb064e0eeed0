// IP set membership with reference counts and collapsed deltas.
//
// A set's members are strings: CIDRs ("10.0.0.1/32", "10.1.0.0/16") for selector sets, and
// "<ip>,<proto>:<port>" for named-port sets. Two endpoints may contribute the same member (a
// network set overlapping another), so members are counted and a member leaves the set only
// when its last contributor does. Deltas are collected per set and member and collapse: adding
// then removing a member within one batch emits nothing.

import { type CIDR, cidrContainsIP, parseCIDR, parseIP } from '../ip/index.js';

export interface IPSetDelta {
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

export class IPSets {
  private readonly sets = new Map<string, Map<string, number>>();
  /** Non-host CIDR members per selector set, parsed, for address lookups. */
  private readonly wideNets = new Map<string, Map<string, CIDR>>();
  /** set → member → +1 (added) / -1 (removed) since the last flush */
  private readonly pending = new Map<string, Map<string, number>>();

  has(id: string): boolean {
    return this.sets.has(id);
  }

  create(id: string): void {
    if (!this.sets.has(id)) this.sets.set(id, new Map());
  }

  /** Drops a set and its members (no member deltas: the set itself goes). */
  remove(id: string): void {
    this.sets.delete(id);
    this.wideNets.delete(id);
    this.pending.delete(id);
  }

  members(id: string): ReadonlyMap<string, number> | undefined {
    return this.sets.get(id);
  }

  add(id: string, member: string): void {
    const set = this.sets.get(id);
    if (set === undefined) return;
    const n = set.get(member) ?? 0;
    set.set(member, n + 1);
    if (n === 0) {
      this.note(id, member, 1);
      if (!member.includes(',') && !isHostNet(member)) {
        let wide = this.wideNets.get(id);
        if (wide === undefined) this.wideNets.set(id, (wide = new Map()));
        wide.set(member, parseCIDR(member));
      }
    }
  }

  delete(id: string, member: string): void {
    const set = this.sets.get(id);
    const n = set?.get(member);
    if (set === undefined || n === undefined) return;
    if (n > 1) {
      set.set(member, n - 1);
      return;
    }
    set.delete(member);
    this.wideNets.get(id)?.delete(member);
    this.note(id, member, -1);
  }

  /** True if the address is in the selector set (a host member or inside a wider net). */
  containsAddress(id: string, ip: string): boolean {
    const set = this.sets.get(id);
    if (set === undefined) return false;
    const addr = parseIP(ip);
    if (set.has(`${ip}/${addr.family === 4 ? 32 : 128}`)) return true;
    for (const c of this.wideNets.get(id)?.values() ?? []) if (cidrContainsIP(c, addr)) return true;
    return false;
  }

  /** Deltas since the last call, per set, with nothing for members that came and went. */
  takeDeltas(): Map<string, IPSetDelta> {
    const out = new Map<string, IPSetDelta>();
    for (const [id, changes] of this.pending) {
      const added: string[] = [];
      const removed: string[] = [];
      for (const [m, d] of changes) {
        if (d > 0) added.push(m);
        else if (d < 0) removed.push(m);
      }
      if (added.length + removed.length > 0) out.set(id, { added: added.sort(), removed: removed.sort() });
    }
    this.pending.clear();
    return out;
  }

  private note(id: string, member: string, d: number): void {
    let m = this.pending.get(id);
    if (m === undefined) this.pending.set(id, (m = new Map()));
    const v = (m.get(member) ?? 0) + d;
    if (v === 0) m.delete(member);
    else m.set(member, v);
  }
}

function isHostNet(cidr: string): boolean {
  return cidr.endsWith('/32') || cidr.endsWith('/128');
}

const PROTO_NAMES: Readonly<Record<number, string>> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

/** A named-port set member: the address (no prefix) with protocol and port. */
export function namedPortMember(net: string, protocol: number, port: number): string {
  return `${net.slice(0, net.indexOf('/'))},${PROTO_NAMES[protocol] ?? String(protocol)}:${port}`;
}
