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
// - update and delete compare against the revision the caller gave (resourceVersion) or, without
//   one, the revision just read, so a concurrent writer makes the transaction fail rather than
//   be overwritten silently (the caller re-reads and plans again).

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
} from '../model/index.js';
import { cidrsOverlap, formatCIDR, parseCIDR } from '../ip/index.js';
import { type ResourceRef, ResourceError, describeRef } from './errors.js';

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
  const value = { ...valid, metadata } as ResourceObject;
  const ref = refOf(kind, metadata.namespace, metadata.name ?? '');
  const expectRevision = parseResourceVersion(resourceVersion, ref);
  const key = resourceKey(kind, kind.namespaced ? ref.namespace : undefined, ref.name);
  const derived = derivedOf(kind, value).map((d) => {
    const dKind = kindInfo(d.kind, d.apiVersion);
    const dRef = refOf(dKind, d.metadata.namespace, d.metadata.name ?? '');
    return { key: resourceKey(dKind, dRef.namespace, dRef.name), ref: dRef, value: d };
  });
  return expectRevision === undefined ? { key, ref, value, derived } : { key, ref, value, expectRevision, derived };
}

/** Compute the key (and conversions' keys) of something to delete. */
export function prepareDelete(t: DeleteTarget): Prepared {
  const ref = refOf(t.kind, t.namespace, t.name);
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
  return expectRevision === undefined ? { key, ref, derived } : { key, ref, expectRevision, derived };
}

function derivedOf(kind: KindInfo, value: ResourceObject): ResourceObject[] {
  if (!kind.kubernetes) return [];
  if (kind.kind === 'Namespace') return [namespaceToProfile(value as Namespace) as ResourceObject];
  if (kind.kind === 'NetworkPolicy') return [k8sNetworkPolicyToCalico(value as K8sNetworkPolicy) as ResourceObject];
  return [];
}

/** Every key a plan for these objects needs to read first. */
export const keysToRead = (objs: readonly Prepared[]): string[] => objs.flatMap((p) => [p.key, ...p.derived.map((d) => d.key)]);

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
  if (refusals.length > 0) throw combineRefusals(refusals);
  return { ops, owners, skipped };
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
