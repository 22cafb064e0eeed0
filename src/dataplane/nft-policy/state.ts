// The desired content of table `inet tabby` (sets, verdict maps, chains with their rules) and a
// change recorder that turns edits of it into one `nft -f` script carrying only the delta.
//
// Invariants:
// - The script is ordered as Felix's sequencer orders dataplane writes: new sets and their
//   elements, then new (empty) chains, then chain contents (policy chains, then endpoint
//   chains), then verdict-map elements (the jumps into endpoint chains), then removals of map
//   elements, chains and sets. Applied as one transaction, so no packet sees a half state and
//   nothing is referenced while missing.
// - Within a set, element deletions come before additions (interval sets refuse overlaps).
// - Every rule line ends in `comment "… #hash"`; the drift check compares those comments.

import { TABLE_REF } from './names.js';

export interface SetSpec {
  readonly type: string;
  readonly interval: boolean;
}

export interface ChainSpec {
  /** Base chain declaration (`type filter hook forward priority filter; policy accept;`). */
  readonly header?: string;
  readonly rules: readonly string[];
}

export class DesiredState {
  readonly sets = new Map<string, { spec: SetSpec; elems: Set<string> }>();
  readonly maps = new Map<string, { type: string; elems: Map<string, string> }>();
  readonly chains = new Map<string, ChainSpec>();
}

/** When a chain's content is written: policy/profile/log chains (0), endpoint chains (1), base and dispatch chains (2). */
export type ChainRank = 0 | 1 | 2;

export function rankOf(name: string, header: string | undefined): ChainRank {
  if (header !== undefined || name.endsWith('_dispatch')) return 2;
  return /^p[io]_|^r[io]_|^dl_/.test(name) ? 0 : 1;
}

export class Change {
  private readonly newSets = new Map<string, SetSpec>();
  private readonly elemDel = new Map<string, Set<string>>();
  private readonly elemAdd = new Map<string, Set<string>>();
  private readonly newChains = new Map<string, string | undefined>();
  private readonly rewrites: [Set<string>, Set<string>, Set<string>] = [new Set(), new Set(), new Set()];
  private readonly mapDel = new Map<string, Set<string>>();
  private readonly mapAdd = new Map<string, Map<string, string>>();
  private readonly delChains = new Set<string>();
  private readonly delSets = new Set<string>();
  private readonly newMaps = new Map<string, string>();

  constructor(readonly state: DesiredState) {}

  putSet(name: string, spec: SetSpec): void {
    if (this.state.sets.has(name)) return;
    this.state.sets.set(name, { spec, elems: new Set() });
    this.delSets.delete(name);
    this.newSets.set(name, spec);
  }

  dropSet(name: string): void {
    if (!this.state.sets.delete(name)) return;
    if (!this.newSets.delete(name)) this.delSets.add(name);
    this.elemAdd.delete(name);
    this.elemDel.delete(name);
  }

  addElem(set: string, e: string): void {
    const s = this.state.sets.get(set);
    if (s === undefined || s.elems.has(e)) return;
    s.elems.add(e);
    if (!this.elemDel.get(set)?.delete(e)) getSet(this.elemAdd, set).add(e);
  }

  delElem(set: string, e: string): void {
    const s = this.state.sets.get(set);
    if (s === undefined || !s.elems.delete(e)) return;
    if (!this.elemAdd.get(set)?.delete(e)) getSet(this.elemDel, set).add(e);
  }

  putMap(name: string, type: string): void {
    if (this.state.maps.has(name)) return;
    this.state.maps.set(name, { type, elems: new Map() });
    this.newMaps.set(name, type);
  }

  putMapElem(map: string, key: string, verdict: string): void {
    const m = this.state.maps.get(map)!;
    const before = m.elems.get(key);
    if (before === verdict) return;
    if (before !== undefined) getSet(this.mapDel, map).add(key);
    m.elems.set(key, verdict);
    getMap(this.mapAdd, map).set(key, verdict);
  }

  dropMapElem(map: string, key: string): void {
    const m = this.state.maps.get(map)!;
    if (!m.elems.delete(key)) return;
    if (this.mapAdd.get(map)?.delete(key) === true && !this.mapDel.get(map)?.has(key)) return;
    getSet(this.mapDel, map).add(key);
  }

  putChain(name: string, spec: ChainSpec, rank: ChainRank): void {
    const before = this.state.chains.get(name);
    if (before !== undefined && sameRules(before.rules, spec.rules)) return;
    this.state.chains.set(name, spec);
    if (before === undefined) {
      if (this.delChains.delete(name)) this.rewrites[rank].add(name);
      else this.newChains.set(name, spec.header);
    }
    this.rewrites[rank].add(name);
  }

  /** Forces a chain's rules to be written again (drift repair). */
  rewrite(name: string, rank: ChainRank): void {
    if (this.state.chains.has(name)) this.rewrites[rank].add(name);
  }

  dropChain(name: string): void {
    if (!this.state.chains.delete(name)) return;
    for (const r of this.rewrites) r.delete(name);
    if (!this.newChains.delete(name)) this.delChains.add(name);
  }

  /** Elements to add to a set or map the kernel lost (drift repair); state already has them. */
  readdElem(set: string, e: string): void {
    getSet(this.elemAdd, set).add(e);
  }
  unexpectedElem(set: string, e: string): void {
    getSet(this.elemDel, set).add(e);
  }
  readdMapElem(map: string, key: string, verdict: string): void {
    getMap(this.mapAdd, map).set(key, verdict);
  }
  unexpectedMapElem(map: string, key: string): void {
    getSet(this.mapDel, map).add(key);
  }
  recreateSet(name: string): void {
    const s = this.state.sets.get(name)!;
    this.newSets.set(name, s.spec);
    for (const e of s.elems) getSet(this.elemAdd, name).add(e);
  }
  recreateMap(name: string): void {
    const m = this.state.maps.get(name)!;
    this.newMaps.set(name, m.type);
    for (const [k, v] of m.elems) getMap(this.mapAdd, name).set(k, v);
  }
  recreateChain(name: string, rank: ChainRank): void {
    this.newChains.set(name, this.state.chains.get(name)!.header);
    this.rewrites[rank].add(name);
  }
  removeForeignChain(name: string): void {
    this.delChains.add(name);
  }
  removeForeignSet(name: string): void {
    this.delSets.add(name);
  }

  /** The `nft -f` script for everything recorded ("" when nothing changed). */
  script(): string {
    const out: string[] = [];
    const T = TABLE_REF;
    for (const [name, spec] of this.newSets) out.push(`add set ${T} ${name} { type ${spec.type};${spec.interval ? ' flags interval;' : ''} }`);
    for (const [name, type] of this.newMaps) out.push(`add map ${T} ${name} { type ${type} : verdict; }`);
    for (const [set, elems] of this.elemDel) pushElems(out, 'delete', set, [...elems]);
    for (const [set, elems] of this.elemAdd) pushElems(out, 'add', set, [...elems]);
    for (const [name, header] of this.newChains) out.push(header === undefined ? `add chain ${T} ${name}` : `add chain ${T} ${name} { ${header} }`);
    for (const rank of this.rewrites) {
      for (const name of rank) {
        if (!this.newChains.has(name)) out.push(`flush chain ${T} ${name}`);
        for (const r of this.state.chains.get(name)!.rules) out.push(`add rule ${T} ${name} ${r}`);
      }
    }
    for (const [map, keys] of this.mapDel) if (keys.size > 0) out.push(`delete element ${T} ${map} { ${[...keys].map(quote).join(', ')} }`);
    for (const [map, elems] of this.mapAdd) if (elems.size > 0) out.push(`add element ${T} ${map} { ${[...elems].map(([k, v]) => `${quote(k)} : ${v}`).join(', ')} }`);
    for (const name of this.delChains) out.push(`delete chain ${T} ${name}`);
    for (const name of this.delSets) out.push(`delete set ${T} ${name}`);
    return out.length === 0 ? '' : out.join('\n') + '\n';
  }
}

const quote = (s: string): string => JSON.stringify(s);

function pushElems(out: string[], verb: 'add' | 'delete', set: string, elems: string[]): void {
  // Chunked so one line never grows past what nft's parser handles comfortably.
  for (let i = 0; i < elems.length; i += 2000) out.push(`${verb} element ${TABLE_REF} ${set} { ${elems.slice(i, i + 2000).join(', ')} }`);
}

function sameRules(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((r, i) => r === b[i]);
}

function getSet<K, V>(m: Map<K, Set<V>>, k: K): Set<V> {
  let s = m.get(k);
  if (s === undefined) m.set(k, (s = new Set()));
  return s;
}

function getMap<K, K2, V>(m: Map<K, Map<K2, V>>, k: K): Map<K2, V> {
  let s = m.get(k);
  if (s === undefined) m.set(k, (s = new Map()));
  return s;
}
