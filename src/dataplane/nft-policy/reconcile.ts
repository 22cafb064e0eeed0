// What table `inet tabby` holds (from `nft -j list table inet tabby`, never the whole ruleset)
// compared with the desired state: the repair script, empty when the table is already right.
// Used at start (an agent restart finds its table in place and changes nothing) and by the
// periodic drift check (a deleted rule rewrites its chain, a deleted element is added back;
// nothing else is touched, nothing is flushed wholesale). Pure: the listing is an argument.

import { TABLE } from './names.js';
import { Change, type DesiredState, rankOf } from './state.js';

export interface ObservedTable {
  readonly sets: ReadonlyMap<string, ReadonlySet<string>>;
  readonly maps: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** chain → the comments of its rules, in order ("" for a rule without one) */
  readonly chains: ReadonlyMap<string, readonly string[]>;
}

export class ListingError extends Error {
  override readonly name = 'ListingError';
}

const PROTO_NUM: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132, icmp: 1, 'ipv6-icmp': 58 };

function elemText(e: unknown): string {
  if (typeof e === 'string' || typeof e === 'number') return String(e);
  if (e !== null && typeof e === 'object') {
    const o = e as Record<string, unknown>;
    if ('prefix' in o) {
      const p = o['prefix'] as { addr: string; len: number };
      return `${p.addr}/${p.len}`;
    }
    if ('concat' in o) return (o['concat'] as unknown[]).map((x) => (typeof x === 'string' && x in PROTO_NUM ? String(PROTO_NUM[x]) : elemText(x))).join(' . ');
    if ('elem' in o) return elemText((o['elem'] as { val: unknown }).val);
    if ('range' in o) return (o['range'] as unknown[]).map(elemText).join('-');
  }
  throw new ListingError(`unexpected set element in the nft listing: ${JSON.stringify(e)}`);
}

function verdictText(v: unknown): string {
  const o = v as Record<string, { target?: string } | null>;
  for (const k of ['goto', 'jump']) if (o[k] != null) return `${k} ${o[k]!.target}`;
  return Object.keys(o)[0] ?? '?';
}

/** Parses `nft -j list table inet tabby` output. */
export function parseListing(json: string): ObservedTable {
  let doc: { nftables?: Record<string, Record<string, unknown>>[] };
  try {
    doc = JSON.parse(json) as typeof doc;
  } catch (err) {
    throw new ListingError(`nft -j list table inet ${TABLE} printed something that is not JSON: ${(err as Error).message}`);
  }
  const sets = new Map<string, Set<string>>();
  const maps = new Map<string, Map<string, string>>();
  const chains = new Map<string, string[]>();
  for (const item of doc.nftables ?? []) {
    if (item['set'] !== undefined) {
      const s = item['set'] as { name: string; elem?: unknown[] };
      sets.set(s.name, new Set((s.elem ?? []).map(elemText)));
    } else if (item['map'] !== undefined) {
      const m = item['map'] as { name: string; elem?: [unknown, unknown][] };
      maps.set(m.name, new Map((m.elem ?? []).map(([k, v]) => [elemText(k), verdictText(v)])));
    } else if (item['chain'] !== undefined) {
      const c = item['chain'] as { name: string };
      if (!chains.has(c.name)) chains.set(c.name, []);
    } else if (item['rule'] !== undefined) {
      const r = item['rule'] as { chain: string; comment?: string };
      let list = chains.get(r.chain);
      if (list === undefined) chains.set(r.chain, (list = []));
      list.push(r.comment ?? '');
    }
  }
  return { sets, maps, chains };
}

const commentOf = (rule: string): string => {
  const m = /comment "([^"]*)"$/.exec(rule);
  return m === null ? '' : m[1]!;
};

/** The repair script turning `observed` into `desired` ("" when they already agree). */
export function repairScript(desired: DesiredState, observed: ObservedTable): string {
  const c = new Change(desired);
  for (const [name, s] of desired.sets) {
    const have = observed.sets.get(name);
    if (have === undefined) {
      c.recreateSet(name);
      continue;
    }
    for (const e of s.elems) if (!have.has(e)) c.readdElem(name, e);
    for (const e of have) if (!s.elems.has(e)) c.unexpectedElem(name, e);
  }
  for (const [name, m] of desired.maps) {
    const have = observed.maps.get(name);
    if (have === undefined) {
      c.recreateMap(name);
      continue;
    }
    for (const [k, v] of m.elems) if (have.get(k) !== v) c.readdMapElem(name, k, v);
    for (const [k, v] of have) if (m.elems.get(k) !== v) c.unexpectedMapElem(name, k);
  }
  for (const [name, spec] of desired.chains) {
    const have = observed.chains.get(name);
    if (have === undefined) c.recreateChain(name, rankOf(name, spec.header));
    else if (have.length !== spec.rules.length || spec.rules.some((r, i) => commentOf(r) !== have[i])) c.rewrite(name, rankOf(name, spec.header));
  }
  for (const name of observed.chains.keys()) if (!desired.chains.has(name)) c.removeForeignChain(name);
  for (const name of observed.sets.keys()) if (!desired.sets.has(name)) c.removeForeignSet(name);
  return c.script();
}
