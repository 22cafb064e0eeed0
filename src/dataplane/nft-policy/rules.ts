// One compiled Calico rule → nftables match expressions, per IP family, and the verdict
// statement each action becomes. Pure.
//
// Semantics follow the engine's matcher (src/policy match.ts), which is what `evaluateFlow` uses:
// - A rule is rendered once per IP family it can match (ipVersion, ICMP vs ICMPv6, the families
//   of its nets); a family its nets do not cover gets no rule, as Felix does.
// - Selectors match through the graph's IP sets (`@s4_…`), named ports through named-port sets
//   keyed address . protocol . port (`@n4_…`).
// - A port list mixing numbers and names is an OR: one rule per alternative.
// - A refused rule (an L7 match Tabby cannot enforce) never matches: it renders to nothing.

import { createHash } from 'node:crypto';
import { formatCIDR } from '../../ip/index.js';
import type { CompiledEntity, CompiledRule, PortMatch } from '../../policy/index.js';
import { MARK_ACCEPT, MARK_PASS, hex, setName } from './names.js';

type Family = 4 | 6;

/** Calico's named-port IP set ID (the engine's shape: n: + base64url(SHA-224(selector ID, protocol, name))). */
export function namedPortSetId(e: CompiledEntity, protocol: number | undefined, name: string): string {
  const text = `n:${e.namedPortSelector.uniqueId()},${protocol ?? 'any'},${name}`;
  return `n:${createHash('sha224').update(text, 'utf8').digest('base64url')}`;
}

function families(r: CompiledRule): Family[] {
  let out: Family[] = r.ipVersion === undefined ? [4, 6] : [r.ipVersion];
  if (r.protocol === 1) out = out.filter((f) => f === 4);
  if (r.protocol === 58) out = out.filter((f) => f === 6);
  for (const e of [r.source, r.destination]) if (e.nets !== undefined) out = out.filter((f) => e.nets!.some((n) => n.family === f));
  return out;
}

const addrOf = (f: Family, side: 'saddr' | 'daddr'): string => `${f === 4 ? 'ip' : 'ip6'} ${side}`;

function netList(e: readonly { family: number }[], f: Family): string {
  return `{ ${e.filter((n) => n.family === f).map((n) => formatCIDR(n as never)).join(', ')} }`;
}

/** Port alternatives of one entity: each is a list of match expressions (ANDed). */
function portAlternatives(r: CompiledRule, e: CompiledEntity, f: Family, side: 'sport' | 'dport'): string[][] {
  const addr = addrOf(f, side === 'sport' ? 'saddr' : 'daddr');
  const named = (p: PortMatch & { kind: 'named' }, op: string): string => `${addr} . meta l4proto . th ${side} ${op}@${setName(namedPortSetId(e, r.protocol, p.name), f)}`;
  const ranges = (list: readonly PortMatch[]): string => `{ ${list.map((p) => (p.kind === 'range' ? (p.min === p.max ? `${p.min}` : `${p.min}-${p.max}`) : '')).join(', ')} }`;
  const common: string[] = [];
  const notPorts = e.notPorts ?? [];
  const notRanges = notPorts.filter((p) => p.kind === 'range');
  if (notRanges.length > 0) common.push(`th ${side} != ${ranges(notRanges)}`);
  for (const p of notPorts) if (p.kind === 'named') common.push(named(p, '!= '));
  if (e.ports === undefined) return [common];
  const alts: string[][] = [];
  const rs = e.ports.filter((p) => p.kind === 'range');
  if (rs.length > 0) alts.push([`th ${side} ${ranges(rs)}`, ...common]);
  for (const p of e.ports) if (p.kind === 'named') alts.push([named(p, ''), ...common]);
  return alts;
}

function entity(e: CompiledEntity, f: Family, side: 'saddr' | 'daddr'): string[] {
  const addr = addrOf(f, side);
  const out: string[] = [];
  if (e.nets !== undefined) out.push(`${addr} ${netList(e.nets, f)}`);
  if (e.notNets !== undefined && e.notNets.some((n) => n.family === f)) out.push(`${addr} != ${netList(e.notNets, f)}`);
  if (e.selector !== undefined) out.push(`${addr} @${setName(e.selector.uniqueId(), f)}`);
  if (e.notSelector !== undefined) out.push(`${addr} != @${setName(e.notSelector.uniqueId(), f)}`);
  return out;
}

function icmp(r: CompiledRule, f: Family): string[] {
  const kw = f === 4 ? 'icmp' : 'icmpv6';
  const out: string[] = [];
  if (r.icmp?.type !== undefined) out.push(`${kw} type ${r.icmp.type}`);
  if (r.icmp?.code !== undefined) out.push(`${kw} code ${r.icmp.code}`);
  if (r.notICMP?.type !== undefined) {
    out.push(r.notICMP.code === undefined ? `${kw} type != ${r.notICMP.type}` : `${kw} type . ${kw} code != { ${r.notICMP.type} . ${r.notICMP.code} }`);
  }
  return out;
}

/**
 * Match expressions ANDed in one rule, cheapest first, so a packet the rule does not match
 * (most packets, for most rules on the path) leaves at the cheapest test: protocol and
 * family, then numeric ports, then literal nets, then selector set lookups, then named-port
 * (concatenated) set lookups. The order of ANDed matches does not change what matches.
 */
function cheapestFirst(parts: string[]): string[] {
  const cost = (x: string): number => (x.includes(' . meta l4proto . th ') ? 4 : x.includes('@') ? 3 : /^ip6? [sd]addr/.test(x) ? 2 : x.startsWith('th ') ? 1 : 0);
  return parts.map((x, i) => [x, i] as const).sort((a, b) => cost(a[0]) - cost(b[0]) || a[1] - b[1]).map(([x]) => x);
}

/** The match part of every nft rule one Calico rule becomes (empty: it can never match). */
export function renderMatches(r: CompiledRule): string[] {
  if (r.refused !== undefined) return [];
  const out: string[] = [];
  const usesPorts = [r.source, r.destination].some((e) => e.ports !== undefined || e.notPorts !== undefined);
  for (const f of families(r)) {
    const head: string[] = [`meta nfproto ipv${f}`];
    if (r.protocol !== undefined) head.push(`meta l4proto ${r.protocol}`);
    else if (usesPorts) head.push('meta l4proto { 6, 17, 132 }');
    if (r.notProtocol !== undefined) head.push(`meta l4proto != ${r.notProtocol}`);
    if (r.icmp !== undefined || r.notICMP !== undefined) head.push(...icmp(r, f));
    head.push(...entity(r.source, f, 'saddr'), ...entity(r.destination, f, 'daddr'));
    for (const s of portAlternatives(r, r.source, f, 'sport')) {
      for (const d of portAlternatives(r, r.destination, f, 'dport')) out.push(cheapestFirst([...head, ...s, ...d]).join(' '));
    }
  }
  return out;
}

/**
 * The verdict part of an Allow or Pass: Allow marks and returns to the endpoint chain, Pass marks
 * the tier done. (Deny and Log are the renderer's: a deny goes to its log-and-drop chain.)
 */
export function renderVerdict(action: 'Allow' | 'Pass', inProfile: boolean): string {
  if (action === 'Allow') return `counter meta mark set meta mark or ${hex(MARK_ACCEPT)} return`;
  // In a profile a Pass only ends that profile (the evaluator goes on to the next one).
  return inProfile ? 'counter return' : `counter meta mark set meta mark or ${hex(MARK_PASS)} return`;
}
