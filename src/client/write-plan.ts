// Planning a batch of resource writes: from objects and what the datastore holds now, the
// transaction operations that carry them out — or the reason they cannot.
//
// Pure given its inputs (the current KV pairs, a clock and a UUID source), so the rules are
// unit-tested without a datastore:
// - every object is validated through the model first; nothing is planned from an invalid batch;
// - `metadata.resourceVersion` is never stored; `uid` and `creationTimestamp` are set on create
//   and carried over from the stored object on every later write;
// - a Kubernetes Namespace or NetworkPolicy brings its Calico conversion (Profile `kns.<ns>`,
//   NetworkPolicy `knp.default.<name>`) into the same plan; conversions are created, overwritten
//   or deleted to follow their source and never fail the plan on their own;
// - update, delete and apply compare against the revision the caller gave (resourceVersion) or,
//   without one, the revision just read, so a concurrent writer makes the transaction fail rather
//   than be overwritten silently (the caller re-reads and plans again); an apply whose document
//   carries a stale resourceVersion is a conflict, not an overwrite;
// - conversions (`knp.default.*` policies, `kns.*` profiles) are written only alongside their
//   Kubernetes source: a direct write or delete of one is refused, naming the object to edit;
// - tiers (tiers.ts): a policy's tier must exist, and the tier is rewritten unchanged in the same
//   transaction (a compare-and-swap on it), so a concurrent delete of the tier, which compares
//   against the tier's revision read before it listed the tier's policies, fails instead of
//   leaving the policy in a tier that is gone; `default` and non-empty tiers are not deleted.

import type { KVPair, JsonValue, Revision, TxnOp } from '../datastore/index.js';
import {
  type KindInfo,
  type ResourceObject,
  K8S_NETWORK_POLICY_PREFIX,
  type K8sNetworkPolicy,
  type Namespace,
  type Where,
  k8sNetworkPolicyToCalico,
  kindInfo,
  namespaceProfileName,
  namespaceToProfile,
  resourceKey,
  validateResource,
  checkUpdate,
  formatIssue,
  storedSize,
} from '../model/index.js';
import { cidrsOverlap, formatCIDR, parseCIDR } from '../ip/index.js';
import { type ResourceRef, ResourceError, describeRef } from './errors.js';
import { type TierUse, derivedSourceProblem, tierDeleteProblem, tierKey, tierOf, withTierLabel } from './tiers.js';

export type WriteMode = 'create' | 'apply' | 'replace' | 'delete';

/** One object of a batch, with where it came from (for validation messages). */
export interface BatchItem {
  readonly resource: ResourceObject;
  readonly where?: Where;
}

/** What to delete: a kind, namespace and name, optionally guarded by a resourceVersion. */
export interface DeleteTarget {
  readonly kind: KindInfo;
  readonly namespace?: string;
  readonly name: string;
  readonly resourceVersion?: string;
}

/** A conversion written alongside its source (Namespace → Profile, K8s policy → Calico policy). */
interface Derived {
  readonly key: string;
  readonly ref: ResourceRef;
  /** Undefined when the source is being deleted. */
  readonly value?: ResourceObject;
}

/** An object ready to plan: validated, keyed, with its conversions. */
export interface Prepared {
  readonly key: string;
  readonly ref: ResourceRef;
  readonly value?: ResourceObject;
  readonly expectRevision?: Revision;
  readonly derived: readonly Derived[];
  /** The tier the value (or a conversion of it) is a policy in; it must exist. */
  readonly tiers?: readonly string[];
  /** Stored size of the value and its conversions (JSON, UTF-8): transactions are sized by it. */
  readonly bytes: number;
}

export const DEFAULT_NAMESPACE = 'default';

const refOf = (kind: KindInfo, namespace: string | undefined, name: string): ResourceRef =>
  kind.namespaced ? { kind: kind.kind, namespace: namespace ?? DEFAULT_NAMESPACE, name } : { kind: kind.kind, name };

/** Parse a resourceVersion given by a user: a positive integer, as this datastore hands them out. */
export function parseResourceVersion(rv: string | undefined, ref: ResourceRef): Revision | undefined {
  if (rv === undefined || rv === '') return undefined;
  if (!/^[1-9][0-9]*$/.test(rv)) {
    throw new ResourceError('Invalid', `${describeRef(ref)}: metadata.resourceVersion "${rv}" is not a resourceVersion this datastore issued (a positive integer)`, ref);
  }
  return Number(rv);
}

/** Validate an object for writing and compute its key and conversions. */
export function prepareWrite(item: BatchItem): Prepared {
  const input = item.resource;
  const kind = kindInfo(String(input.kind), typeof input.apiVersion === 'string' ? input.apiVersion : undefined);
  const withNs: ResourceObject =
    kind.namespaced && (input.metadata?.namespace === undefined || input.metadata.namespace === '')
      ? { ...input, metadata: { ...input.metadata, namespace: DEFAULT_NAMESPACE } }
      : input;
  const valid = validateResource(withNs, item.where ?? {});
  const { resourceVersion, ...metadata } = valid.metadata;
  const value = withTierLabel({ ...valid, metadata } as ResourceObject);
  const ref = refOf(kind, metadata.namespace, metadata.name ?? '');
  refuseDerived(kind, ref);
  const expectRevision = parseResourceVersion(resourceVersion, ref);
  const key = resourceKey(kind, kind.namespaced ? ref.namespace : undefined, ref.name);
  const derived = derivedOf(kind, value).map((d) => {
    const dKind = kindInfo(d.kind, d.apiVersion);
    const dRef = refOf(dKind, d.metadata.namespace, d.metadata.name ?? '');
    return { key: resourceKey(dKind, dRef.namespace, dRef.name), ref: dRef, value: withTierLabel(d) };
  });
  const tiers = [...new Set([value, ...derived.map((d) => d.value)].flatMap((v) => tierOf(v) ?? []))];
  const bytes = [value, ...derived.map((d) => d.value)].reduce((n, v) => n + storedSize(v), 0);
  return { key, ref, value, derived, bytes, ...(expectRevision === undefined ? {} : { expectRevision }), ...(tiers.length > 0 ? { tiers } : {}) };
}

/** A conversion is written with its Kubernetes source only; a direct write is refused. */
function refuseDerived(kind: KindInfo, ref: ResourceRef): void {
  const problem = derivedSourceProblem(kind, ref);
  if (problem !== undefined) throw new ResourceError('Invalid', `${describeRef(ref)}: ${problem}`, ref);
}

/** Compute the key (and conversions' keys) of something to delete. */
export function prepareDelete(t: DeleteTarget): Prepared {
  const ref = refOf(t.kind, t.namespace, t.name);
  refuseDerived(t.kind, ref);
  const key = resourceKey(t.kind, ref.namespace, ref.name);
  const expectRevision = parseResourceVersion(t.resourceVersion, ref);
  const derived: Derived[] = [];
  if (t.kind.kubernetes && t.kind.kind === 'Namespace') {
    const name = namespaceProfileName(t.name);
    derived.push({ key: resourceKey(kindInfo('Profile'), undefined, name), ref: { kind: 'Profile', name } });
  } else if (t.kind.kubernetes && t.kind.kind === 'NetworkPolicy') {
    const np = kindInfo('NetworkPolicy', 'projectcalico.org/v3');
    const name = `${K8S_NETWORK_POLICY_PREFIX}${t.name}`;
    derived.push({ key: resourceKey(np, ref.namespace, name), ref: { kind: 'NetworkPolicy', namespace: ref.namespace!, name } });
  }
  return expectRevision === undefined ? { key, ref, derived, bytes: 0 } : { key, ref, expectRevision, derived, bytes: 0 };
}

function derivedOf(kind: KindInfo, value: ResourceObject): ResourceObject[] {
  if (!kind.kubernetes) return [];
  if (kind.kind === 'Namespace') return [namespaceToProfile(value as Namespace) as ResourceObject];
  if (kind.kind === 'NetworkPolicy') return [k8sNetworkPolicyToCalico(value as K8sNetworkPolicy) as ResourceObject];
  return [];
}

/** Every key a plan for these objects needs to read first. */
export const keysToRead = (objs: readonly Prepared[]): string[] => [
  ...new Set(objs.flatMap((p) => [p.key, ...p.derived.map((d) => d.key), ...(p.tiers ?? []).map(tierKey)])),
];

/** Why an op is in the transaction: to map a failed op back to the resource it was for. */
export interface OpOwner {
  readonly ref: ResourceRef;
  /** Index into the prepared objects; a conversion shares its source's index. */
  readonly index: number;
  readonly derived: boolean;
}

export interface Plan {
  readonly ops: TxnOp[];
  readonly owners: OpOwner[];
  /** Indexes of prepared objects that were left out (create with skipExisting, delete with ignoreNotFound). */
  readonly skipped: number[];
}

export interface PlanOptions {
  readonly now: () => Date;
  readonly uuid: () => string;
  /** create: leave out objects that exist instead of failing. */
  readonly skipExisting?: boolean;
  /** delete: leave out objects that do not exist instead of failing. */
  readonly ignoreNotFound?: boolean;
  /** The policies in each tier being deleted, listed after the tiers were read. */
  readonly tierUse?: TierUse;
}

/** RFC 3339 in UTC with second precision, as Kubernetes writes creationTimestamp. */
export const timestamp = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Plan `mode` for `objs` against `current` (key → stored pair, absent keys missing). Throws the refusals. */
export function planWrites(mode: WriteMode, objs: readonly Prepared[], current: ReadonlyMap<string, KVPair>, opts: PlanOptions): Plan {
  const ops: TxnOp[] = [];
  const owners: OpOwner[] = [];
  const skipped: number[] = [];
  const refusals: ResourceError[] = [];
  const seen = new Map<string, ResourceRef>();
  const claim = (key: string, ref: ResourceRef): boolean => {
    const other = seen.get(key);
    if (other !== undefined) {
      refusals.push(new ResourceError('Invalid', `${describeRef(ref)} appears more than once in one request (also as ${describeRef(other)}); give each resource once`, ref));
      return false;
    }
    seen.set(key, ref);
    return true;
  };
  const stamp = (value: ResourceObject, cur: KVPair | undefined): JsonValue => {
    const old = cur?.value as { metadata?: { uid?: string; creationTimestamp?: string } } | undefined;
    const metadata = {
      ...value.metadata,
      uid: old?.metadata?.uid ?? opts.uuid(),
      creationTimestamp: old?.metadata?.creationTimestamp ?? timestamp(opts.now()),
    };
    return { ...value, metadata } as unknown as JsonValue;
  };

  objs.forEach((p, index) => {
    const cur = current.get(p.key);
    if (!claim(p.key, p.ref)) return;
    const refuse = (e: ResourceError) => refusals.push(e);
    let primary: TxnOp | undefined;
    switch (mode) {
      case 'create':
        if (cur !== undefined) {
          if (opts.skipExisting) skipped.push(index);
          else refuse(new ResourceError('AlreadyExists', `resource already exists: ${describeRef(p.ref)}`, p.ref));
          return;
        }
        primary = { op: 'create', key: p.key, value: stamp(p.value!, undefined) };
        break;
      case 'apply':
        if (p.expectRevision !== undefined && p.expectRevision !== cur?.revision) {
          const now = cur === undefined ? 'has been deleted since' : `is at resourceVersion ${cur.revision}, not`;
          refuse(
            new ResourceError(
              'Conflict',
              `update conflict: ${describeRef(p.ref)} ${now} the document's resourceVersion ${p.expectRevision}; get it again and reapply your change, or remove metadata.resourceVersion from the document to overwrite`,
              p.ref,
            ),
          );
          return;
        }
        if (cur !== undefined && !immutableOk(p, cur, refuse)) return;
        primary = cur === undefined ? { op: 'create', key: p.key, value: stamp(p.value!, undefined) } : { op: 'update', key: p.key, value: stamp(p.value!, cur), revision: cur.revision };
        break;
      case 'replace':
      case 'delete':
        if (cur === undefined) {
          if (mode === 'delete' && opts.ignoreNotFound) skipped.push(index);
          else refuse(new ResourceError('NotFound', `resource does not exist: ${describeRef(p.ref)}`, p.ref));
          return;
        }
        if (p.expectRevision !== undefined && p.expectRevision !== cur.revision) {
          refuse(
            new ResourceError(
              'Conflict',
              `update conflict: ${describeRef(p.ref)} is at resourceVersion ${cur.revision}, not ${p.expectRevision}; get it again and retry, or leave resourceVersion out`,
              p.ref,
            ),
          );
          return;
        }
        if (mode === 'replace' && !immutableOk(p, cur, refuse)) return;
        if (mode === 'delete' && p.ref.kind === 'Tier') {
          const deleting = new Set(objs.filter((o) => o.value === undefined).map((o) => o.key));
          const problem = tierDeleteProblem(p.ref.name, opts.tierUse, deleting);
          if (problem !== undefined) {
            refuse(new ResourceError('Invalid', `${describeRef(p.ref)}: ${problem}`, p.ref));
            return;
          }
        }
        primary =
          mode === 'delete'
            ? { op: 'delete', key: p.key, revision: cur.revision }
            : { op: 'update', key: p.key, value: stamp(p.value!, cur), revision: cur.revision };
        break;
    }
    ops.push(primary);
    owners.push({ ref: p.ref, index, derived: false });
    for (const d of p.derived) {
      if (!claim(d.key, d.ref)) continue;
      const dc = current.get(d.key);
      let op: TxnOp | undefined;
      if (d.value === undefined) op = dc === undefined ? undefined : { op: 'delete', key: d.key, revision: dc.revision };
      else op = dc === undefined ? { op: 'create', key: d.key, value: stamp(d.value, undefined) } : { op: 'update', key: d.key, value: stamp(d.value, dc), revision: dc.revision };
      if (op === undefined) continue;
      ops.push(op);
      owners.push({ ref: d.ref, index, derived: true });
    }
  });
  guardTiers(mode, objs, current, ops, owners, refusals);
  if (refusals.length > 0) throw combineRefusals(refusals);
  return { ops, owners, skipped };
}

/**
 * Every tier a written policy is in must exist, stored or written by this plan; a stored one is
 * rewritten unchanged with a compare on its revision (see the header), once per plan.
 */
function guardTiers(
  mode: WriteMode,
  objs: readonly Prepared[],
  current: ReadonlyMap<string, KVPair>,
  ops: TxnOp[],
  owners: OpOwner[],
  refusals: ResourceError[],
): void {
  if (mode === 'delete') return;
  const guarded = new Set<string>();
  objs.forEach((p, index) => {
    for (const tier of p.tiers ?? []) {
      const key = tierKey(tier);
      if (guarded.has(key)) continue;
      guarded.add(key);
      const creating = objs.some((o) => o.key === key && o.value !== undefined);
      if (creating) continue;
      const stored = current.get(key);
      if (stored === undefined) {
        refusals.push(new ResourceError('NotFound', `${describeRef(p.ref)}: tier "${tier}" does not exist; create the Tier first (or put the policy in an existing tier)`, p.ref));
        continue;
      }
      ops.push({ op: 'update', key, value: stored.value, revision: stored.revision });
      owners.push({ ref: { kind: 'Tier', name: tier }, index, derived: true });
    }
  });
}

/** Refuses an update that changes an immutable field (e.g. IPPool cidr); true when it may go ahead. */
function immutableOk(p: Prepared, cur: KVPair, refuse: (e: ResourceError) => void): boolean {
  if (p.value === undefined) return true;
  const issues = checkUpdate(cur.value as unknown as ResourceObject, p.value);
  for (const i of issues) refuse(new ResourceError('Invalid', formatIssue(i), p.ref));
  return issues.length === 0;
}

/** One error for several refusals: the first one's code, every message on its own line. */
function combineRefusals(errs: readonly ResourceError[]): ResourceError {
  if (errs.length === 1) return errs[0]!;
  const first = errs[0]!;
  return new ResourceError(first.code, errs.map((e) => e.message).join('\n'), first.resource);
}

/**
 * Refusals for IPPools in `prepared` whose CIDR overlaps another pool: one already stored (other
 * than the pool itself) or another pool in the same request. Calico refuses overlapping pools;
 * two concurrent writers can still slip past this check, which is why the IPAM allocator also
 * treats the newer of two overlapping pools as not allocatable.
 */
export function poolOverlapRefusals(prepared: readonly Prepared[], stored: readonly KVPair[]): ResourceError[] {
  const cidrOf = (v: unknown): string | undefined => (v as { spec?: { cidr?: unknown } } | undefined)?.spec?.cidr as string | undefined;
  const incoming = prepared.filter((p) => p.value !== undefined && p.value.kind === 'IPPool');
  if (incoming.length === 0) return [];
  const writing = new Set(incoming.map((p) => p.key));
  const others: { name: string; cidr: string }[] = stored
    .filter((kv) => !writing.has(kv.key))
    .flatMap((kv) => {
      const cidr = cidrOf(kv.value);
      const name = (kv.value as { metadata?: { name?: string } }).metadata?.name ?? kv.key;
      return cidr === undefined ? [] : [{ name, cidr }];
    });
  const refusals: ResourceError[] = [];
  incoming.forEach((p, i) => {
    const mine = parseCIDR(cidrOf(p.value)!);
    const clash =
      others.find((o) => {
        const c = parseCIDR(o.cidr, { lenient: true });
        return cidrsOverlap(c, mine);
      }) ??
      incoming.slice(0, i).map((q) => ({ name: q.value!.metadata.name ?? q.key, cidr: cidrOf(q.value)! })).find((o) => cidrsOverlap(parseCIDR(o.cidr), mine));
    if (clash === undefined) return;
    refusals.push(
      new ResourceError(
        'Invalid',
        `${describeRef(p.ref)}: spec.cidr: ${formatCIDR(mine)} overlaps IPPool "${clash.name}" (${clash.cidr}); pools may not overlap — pick a CIDR outside it [rule: cidr-overlap]`,
        p.ref,
      ),
    );
  });
  return refusals;
}
