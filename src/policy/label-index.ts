// Which endpoints each selector matches, kept up to date without evaluating every selector
// against every endpoint (Felix's labelindex with label restrictions).
//
// Each selector is filed under one "anchor" taken from its label restrictions (selector
// package, restrictions.ts): a label and the values it must have, or a label it must have.
// Restrictions are sound lower bounds, so an endpoint can only match a selector filed under one
// of its own (label, value) pairs or labels, or one with no anchor at all. So:
// - an endpoint's labels change → evaluate only the selectors filed under its old or new labels,
//   the unanchored ones, and those it matched before;
// - a selector is added → evaluate only the endpoints carrying its anchor.
// Among several possible anchors the one with the fewest endpoints today is chosen; the anchor
// only affects cost, never answers. A selector whose restrictions cannot be met matches nothing
// and is never evaluated.
// Listeners hear every match that starts or stops, in the order they happen.

import { type LabelRecord, type Selector, possibleToSatisfy } from '../selector/index.js';

type Anchor = { readonly kind: 'values'; readonly label: string; readonly values: readonly string[] } | { readonly kind: 'label'; readonly label: string } | { readonly kind: 'none' } | { readonly kind: 'never' };

export interface MatchListener {
  matchStarted(selectorId: string, endpointId: string): void;
  matchStopped(selectorId: string, endpointId: string): void;
}

function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  let s = m.get(k);
  if (s === undefined) m.set(k, (s = new Set()));
  s.add(v);
}

function removeFrom<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  const s = m.get(k);
  if (s === undefined) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}

// layer: frozen — the one empty set handed out for "no selectors"; never added to.
const EMPTY: ReadonlySet<string> = new Set();

// Labels Calico puts on every workload (orchestrator) or every workload of a namespace. At a
// full start selectors arrive before endpoints, when every count is 0; these weights keep a
// selector like `orchestrator == 'k8s' && namespace == 'x' && app == 'web'` filed under app.
const BROAD_LABELS: Readonly<Record<string, number>> = {
  'projectcalico.org/orchestrator': 1e9,
  'projectcalico.org/namespace': 1e6,
  'projectcalico.org/serviceaccount': 1e3,
};

export class LabelIndex {
  private readonly endpoints = new Map<string, LabelRecord>();
  /** label → value → endpoint IDs */
  private readonly endpointsByLabel = new Map<string, Map<string, Set<string>>>();
  private readonly selectors = new Map<string, { readonly selector: Selector; readonly anchor: Anchor }>();
  /** label → value → selector IDs anchored there */
  private readonly selectorsByValue = new Map<string, Map<string, Set<string>>>();
  /** label → selector IDs anchored on its presence */
  private readonly selectorsByLabel = new Map<string, Set<string>>();
  private readonly unanchored = new Set<string>();
  private readonly members = new Map<string, Set<string>>();
  private readonly matchedBy = new Map<string, Set<string>>();
  /** Selector evaluations so far (a metric: what the index saves). */
  evaluations = 0;

  constructor(private readonly listener: MatchListener) {}

  labelsOf(endpointId: string): LabelRecord | undefined {
    return this.endpoints.get(endpointId);
  }

  membersOf(selectorId: string): ReadonlySet<string> {
    return this.members.get(selectorId) ?? EMPTY;
  }

  selectorsMatching(endpointId: string): ReadonlySet<string> {
    return this.matchedBy.get(endpointId) ?? EMPTY;
  }

  hasSelector(selectorId: string): boolean {
    return this.selectors.has(selectorId);
  }

  /** Sets (or with undefined, removes) an endpoint's labels. */
  updateEndpoint(id: string, labels: LabelRecord | undefined): void {
    const old = this.endpoints.get(id);
    if (old !== undefined) {
      for (const k in old) {
        const byValue = this.endpointsByLabel.get(k);
        if (byValue === undefined) continue;
        removeFrom(byValue, old[k]!, id);
        if (byValue.size === 0) this.endpointsByLabel.delete(k);
      }
    }
    if (labels === undefined) this.endpoints.delete(id);
    else {
      this.endpoints.set(id, labels);
      for (const k in labels) {
        let byValue = this.endpointsByLabel.get(k);
        if (byValue === undefined) this.endpointsByLabel.set(k, (byValue = new Map()));
        addTo(byValue, labels[k]!, id);
      }
    }
    const candidates = new Set(this.matchedBy.get(id) ?? EMPTY);
    if (labels !== undefined) {
      for (const k in labels) {
        for (const s of this.selectorsByValue.get(k)?.get(labels[k]!) ?? EMPTY) candidates.add(s);
        for (const s of this.selectorsByLabel.get(k) ?? EMPTY) candidates.add(s);
      }
      for (const s of this.unanchored) candidates.add(s);
    }
    for (const s of candidates) {
      const entry = this.selectors.get(s)!;
      let now = false;
      if (labels !== undefined) {
        this.evaluations++;
        now = entry.selector.matches(labels);
      }
      this.setMatch(s, id, now);
    }
  }

  /** Adds a selector under `id` (its canonical text, normally) and finds its endpoints. */
  addSelector(id: string, selector: Selector): void {
    if (this.selectors.has(id)) return;
    const anchor = this.chooseAnchor(selector);
    this.selectors.set(id, { selector, anchor });
    let candidates: Iterable<string>;
    switch (anchor.kind) {
      case 'never':
        return;
      case 'none':
        this.unanchored.add(id);
        candidates = this.endpoints.keys();
        break;
      case 'label': {
        addTo(this.selectorsByLabel, anchor.label, id);
        const byValue = this.endpointsByLabel.get(anchor.label);
        candidates = byValue === undefined ? [] : [...byValue.values()].flatMap((s) => [...s]);
        break;
      }
      case 'values': {
        let byValue = this.selectorsByValue.get(anchor.label);
        if (byValue === undefined) this.selectorsByValue.set(anchor.label, (byValue = new Map()));
        for (const v of anchor.values) addTo(byValue, v, id);
        const eps = this.endpointsByLabel.get(anchor.label);
        candidates = eps === undefined ? [] : anchor.values.flatMap((v) => [...(eps.get(v) ?? EMPTY)]);
        break;
      }
    }
    for (const ep of candidates) {
      this.evaluations++;
      if (selector.matches(this.endpoints.get(ep)!)) this.setMatch(id, ep, true);
    }
  }

  removeSelector(id: string): void {
    const entry = this.selectors.get(id);
    if (entry === undefined) return;
    for (const ep of [...(this.members.get(id) ?? EMPTY)]) this.setMatch(id, ep, false);
    const a = entry.anchor;
    if (a.kind === 'none') this.unanchored.delete(id);
    else if (a.kind === 'label') removeFrom(this.selectorsByLabel, a.label, id);
    else if (a.kind === 'values') {
      const byValue = this.selectorsByValue.get(a.label)!;
      for (const v of a.values) removeFrom(byValue, v, id);
      if (byValue.size === 0) this.selectorsByValue.delete(a.label);
    }
    this.selectors.delete(id);
  }

  private setMatch(selectorId: string, endpointId: string, now: boolean): void {
    const was = this.members.get(selectorId)?.has(endpointId) === true;
    if (now === was) return;
    if (now) {
      addTo(this.members, selectorId, endpointId);
      addTo(this.matchedBy, endpointId, selectorId);
      this.listener.matchStarted(selectorId, endpointId);
    } else {
      removeFrom(this.members, selectorId, endpointId);
      removeFrom(this.matchedBy, endpointId, selectorId);
      this.listener.matchStopped(selectorId, endpointId);
    }
  }

  private chooseAnchor(selector: Selector): Anchor {
    let best: Anchor = { kind: 'none' };
    let bestCost = Number.POSITIVE_INFINITY;
    for (const [label, r] of selector.labelRestrictions()) {
      if (!possibleToSatisfy(r)) return { kind: 'never' };
      const byValue = this.endpointsByLabel.get(label);
      let cost: number;
      let anchor: Anchor;
      if (r.mustHaveOneOfValues !== undefined) {
        cost = (BROAD_LABELS[label] ?? 0) + r.mustHaveOneOfValues.reduce((n, v) => n + (byValue?.get(v)?.size ?? 0), 0);
        anchor = { kind: 'values', label, values: r.mustHaveOneOfValues };
      } else if (r.mustBePresent) {
        // Presence anchors cost every endpoint with the label, and new values widen them.
        cost = 1 + 2 * (BROAD_LABELS[label] ?? 0) + [...(byValue?.values() ?? [])].reduce((n, s) => n + s.size, 0);
        anchor = { kind: 'label', label };
      } else continue;
      if (cost < bestCost || (cost === bestCost && best.kind === 'label' && anchor.kind === 'values')) {
        best = anchor;
        bestCost = cost;
      }
    }
    return best;
  }
}
