// ResourceClient: Calico-style CRUD on v3 (and stand-in Kubernetes) resources over any Datastore.
//
// Writes validate through the model, never store `metadata.resourceVersion`, stamp `uid` and
// `creationTimestamp` on create and keep them afterwards, and carry Kubernetes conversions in the
// same transaction (see write-plan.ts). Reads set `metadata.resourceVersion` to the KV revision.
// Before its first write a client bootstraps the datastore (bootstrap.ts), once per instance.
//
// Batches (`createAll`, `applyAll`, `replaceAll`, `deleteAll`) are all-or-nothing in one datastore
// transaction. A transaction carries at most MAX_TXN_OPS (128, etcd's default --max-txn-ops)
// operations, counting each conversion; a larger batch is split into consecutive transactions,
// each all-or-nothing, and the result's `transactions` says how many were used (> 1 means the
// batch as a whole was not atomic). A failure after the first transaction is a
// PartialBatchError saying how many resources were already stored.
//
// Races: a plan is made from a fresh read; if the transaction's compare fails because another
// writer got in between, the client reads and plans again (a bounded number of times). An
// explicit `resourceVersion` is a promise the caller made, so a mismatch there is reported as
// Conflict, never retried around.

import { randomUUID } from 'node:crypto';
import { type Datastore, type KVPair, MAX_TXN_OPS, isDatastoreError } from '../datastore/index.js';
import { type KindInfo, MAX_RESOURCE_BYTES, type ResourceObject, kindInfo, resourceKey, resourceListPrefix } from '../model/index.js';
import { parseSelector } from '../selector/index.js';
import { ensureInitialized } from './bootstrap.js';
import { PartialBatchError, ResourceError, type ResourceRef, describeRef, fromDatastoreError } from './errors.js';
import { applyMergePatch } from './merge-patch.js';
import { TIERED_KINDS, type TierUse, tierOf } from './tiers.js';
import {
  type BatchItem,
  DEFAULT_NAMESPACE,
  type DeleteTarget,
  type Prepared,
  type WriteMode,
  keysToRead,
  planWrites,
  poolOverlapRefusals,
  prepareDelete,
  prepareWrite,
} from './write-plan.js';
import type { JsonValue } from '../datastore/index.js';

export type KindRef = string | KindInfo;

export interface ListOptions {
  /** Namespace for namespaced kinds (default "default"); ignored for cluster-scoped kinds. */
  readonly namespace?: string;
  readonly allNamespaces?: boolean;
  /** A Calico selector over metadata.labels, e.g. `color == "red" && has(zone)`. */
  readonly labelSelector?: string;
}

export interface ResourceList {
  readonly items: ResourceObject[];
  /** Datastore revision the list was read at. */
  readonly resourceVersion: string;
}

export interface BatchOptions {
  /** createAll: skip resources that already exist instead of failing. */
  readonly skipExisting?: boolean;
  /** deleteAll: skip resources that do not exist instead of failing. */
  readonly ignoreNotFound?: boolean;
}

export interface BatchResult {
  /** The resources written (as stored, with resourceVersion), or for delete as they were. */
  readonly items: ResourceObject[];
  /** Input positions left out by skipExisting / ignoreNotFound. */
  readonly skipped: number[];
  /** Transactions used; more than 1 means the batch exceeded MAX_TXN_OPS and was split. */
  readonly transactions: number;
}

/** Labels to set and to remove; `overwrite` allows changing a label's existing value. */
export interface LabelChange {
  readonly set: Readonly<Record<string, string>>;
  readonly remove: readonly string[];
  readonly overwrite?: boolean;
}

export interface ClientOptions {
  readonly now?: () => Date;
  readonly uuid?: () => string;
  /** Skip the bootstrap before the first write (for tools that must not create anything). */
  readonly skipBootstrap?: boolean;
}

/** Attempts at a write that keeps losing races to other writers, with jittered back-off between. */
const MAX_ATTEMPTS = 12;
const BACKOFF_BASE_MS = 2;
const BACKOFF_CAP_MS = 250;

/** Full-jitter exponential back-off before attempt `attempt + 1`, so racing writers spread out. */
const backoff = (attempt: number): Promise<void> =>
  new Promise((done) => setTimeout(done, Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt)));
const resolveKind = (k: KindRef): KindInfo => (typeof k === 'string' ? kindInfo(k) : k);
const toItem = (o: ResourceObject | BatchItem): BatchItem => ('resource' in o && !('kind' in o) ? (o as BatchItem) : { resource: o as ResourceObject });

/** The stored value as a resource, with resourceVersion = the KV revision. */
export function toResource(kv: KVPair): ResourceObject {
  const value = kv.value as unknown as ResourceObject;
  return { ...value, metadata: { ...value.metadata, resourceVersion: String(kv.revision) } } as ResourceObject;
}

export class ResourceClient {
  private initialized: Promise<unknown> | undefined;
  private readonly now: () => Date;
  private readonly uuid: () => string;

  constructor(
    readonly datastore: Datastore,
    private readonly options: ClientOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.uuid = options.uuid ?? randomUUID;
  }

  async get(kind: KindRef, namespace: string | undefined, name: string): Promise<ResourceObject> {
    const k = resolveKind(kind);
    const ns = k.namespaced ? (namespace ?? DEFAULT_NAMESPACE) : undefined;
    const kv = await this.datastore.get(resourceKey(k, ns, name));
    if (kv === undefined) {
      throw new ResourceError('NotFound', `resource does not exist: ${describeRef(ns === undefined ? { kind: k.kind, name } : { kind: k.kind, namespace: ns, name })}`);
    }
    return toResource(kv);
  }

  async list(kind: KindRef, opts: ListOptions = {}): Promise<ResourceList> {
    const k = resolveKind(kind);
    // Parse first: a bad selector is the caller's error even when nothing is stored.
    const selector = opts.labelSelector === undefined ? undefined : parseSelector(opts.labelSelector);
    const prefix = !k.namespaced || opts.allNamespaces ? k.keyPrefix : resourceListPrefix(k, opts.namespace ?? DEFAULT_NAMESPACE);
    const { items, revision } = await this.datastore.list(prefix);
    // A cluster-wide prefix also covers keys of other shapes; keep only this kind's objects.
    const resources = items
      .filter((kv) => kv.key.slice(k.keyPrefix.length).split('/').length === (k.namespaced ? 2 : 1))
      .map(toResource)
      .filter((r) => selector === undefined || selector.matches(r.metadata.labels ?? {}));
    return { items: resources, resourceVersion: String(revision) };
  }

  async create(obj: ResourceObject | BatchItem): Promise<ResourceObject> {
    return (await this.createAll([obj])).items[0]!;
  }
  async apply(obj: ResourceObject | BatchItem): Promise<ResourceObject> {
    return (await this.applyAll([obj])).items[0]!;
  }
  /** Update an existing resource; compares against metadata.resourceVersion when it is given. */
  async update(obj: ResourceObject | BatchItem): Promise<ResourceObject> {
    return (await this.replaceAll([obj])).items[0]!;
  }
  /** Same as update: the resource must exist (calicoctl's `replace`). */
  async replace(obj: ResourceObject | BatchItem): Promise<ResourceObject> {
    return this.update(obj);
  }
  async delete(kind: KindRef, namespace: string | undefined, name: string, opts: { resourceVersion?: string } = {}): Promise<ResourceObject> {
    const target: DeleteTarget = { kind: resolveKind(kind), name, ...(namespace === undefined ? {} : { namespace }), ...opts };
    return (await this.deleteAll([target])).items[0]!;
  }

  async createAll(objs: readonly (ResourceObject | BatchItem)[], opts: BatchOptions = {}): Promise<BatchResult> {
    return this.write('create', objs.map((o) => prepareWrite(toItem(o))), opts);
  }
  async applyAll(objs: readonly (ResourceObject | BatchItem)[]): Promise<BatchResult> {
    return this.write('apply', objs.map((o) => prepareWrite(toItem(o))), {});
  }
  async replaceAll(objs: readonly (ResourceObject | BatchItem)[]): Promise<BatchResult> {
    return this.write('replace', objs.map((o) => prepareWrite(toItem(o))), {});
  }
  /** Delete resources given as objects (e.g. read from a file) or as kind/namespace/name targets. */
  async deleteAll(targets: readonly (ResourceObject | DeleteTarget)[], opts: BatchOptions = {}): Promise<BatchResult> {
    const prepared = targets.map((t) => {
      if (typeof t.kind !== 'string') return prepareDelete(t as DeleteTarget);
      const o = t as ResourceObject;
      const k = kindInfo(o.kind, o.apiVersion);
      const rv = o.metadata.resourceVersion;
      return prepareDelete({ kind: k, name: o.metadata.name ?? "", ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}), ...(rv ? { resourceVersion: rv } : {}) });
    });
    return this.write('delete', prepared, opts);
  }

  /**
   * JSON merge patch (RFC 7386) of a stored resource, validated like any write. The update
   * compares against the revision read (or a resourceVersion inside the patch) and, when another
   * writer got in between and the patch named no resourceVersion, reads and patches again.
   */
  async patch(kind: KindRef, namespace: string | undefined, name: string, patch: JsonValue): Promise<ResourceObject> {
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
      throw new ResourceError('Invalid', 'a merge patch must be a JSON object, e.g. {"spec":{"natOutgoing":true}}');
    }
    const pinned = JSON.stringify(patch).includes('"resourceVersion"');
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) await backoff(attempt);
      const current = await this.get(kind, namespace, name);
      const patched = applyMergePatch(current as unknown as JsonValue, patch) as unknown as ResourceObject;
      const m = patched.metadata as ResourceObject['metadata'] | undefined;
      if (patched.kind !== current.kind || patched.apiVersion !== current.apiVersion || m?.name !== current.metadata.name || m?.namespace !== current.metadata.namespace) {
        throw new ResourceError('Invalid', `a patch may not change apiVersion, kind, metadata.name or metadata.namespace of ${current.kind}(${name})`);
      }
      try {
        return (await this.replaceAll([patched])).items[0]!;
      } catch (err) {
        if (pinned || !(err instanceof ResourceError && err.code === 'Conflict')) throw err;
        if (attempt >= MAX_ATTEMPTS) {
          throw new ResourceError(
            'Conflict',
            `gave up patching ${describeRef(err.resource ?? { kind: current.kind, name })} after ${attempt} attempts: another writer changed it every time before the patch could be written; try again`,
            err.resource,
            { cause: err },
          );
        }
      }
    }
  }

  /**
   * Set and remove labels (calicoctl label / kubectl label). A label that already has another
   * value is changed only with `overwrite`; removing an absent label is not an error. The
   * check and the write are one compare-and-swap, retried when another writer got in between.
   */
  async label(kind: KindRef, namespace: string | undefined, name: string, change: LabelChange): Promise<ResourceObject> {
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) await backoff(attempt);
      const current = await this.get(kind, namespace, name);
      const labels = current.metadata.labels ?? {};
      const clash = Object.entries(change.set).filter(([k, v]) => labels[k] !== undefined && labels[k] !== v);
      if (clash.length > 0 && !change.overwrite) {
        const [k, v] = clash[0]!;
        throw new ResourceError('Invalid', `${current.kind}(${name}) already has label ${k}=${labels[k]}; use --overwrite to set ${k}=${v}`);
      }
      const patch: Record<string, JsonValue> = { ...change.set };
      for (const k of change.remove) patch[k] = null;
      const patched = applyMergePatch(current as unknown as JsonValue, { metadata: { labels: patch } }) as unknown as ResourceObject;
      try {
        return (await this.replaceAll([patched])).items[0]!;
      } catch (err) {
        if (!(err instanceof ResourceError && err.code === 'Conflict') || attempt >= MAX_ATTEMPTS) throw err;
      }
    }
  }

  /** Bootstrap the datastore now (it otherwise happens before the first write). */
  ensureInitialized(): Promise<unknown> {
    this.initialized ??= ensureInitialized(this.datastore, this.now).catch((err: unknown) => {
      this.initialized = undefined;
      throw err;
    });
    return this.initialized;
  }

  private async write(mode: WriteMode, prepared: readonly Prepared[], opts: BatchOptions): Promise<BatchResult> {
    if (!this.options.skipBootstrap) await this.ensureInitialized();
    if (mode !== 'delete' && prepared.some((p) => p.value?.kind === 'IPPool')) {
      const pools = await this.datastore.list(resourceListPrefix(kindInfo('IPPool')));
      const refusals = poolOverlapRefusals(prepared, pools.items);
      if (refusals.length > 0) throw refusals.length === 1 ? refusals[0]! : new ResourceError('Invalid', refusals.map((r) => r.message).join('\n'), refusals[0]!.resource);
    }
    const chunks = chunkByOps(prepared);
    const items: ResourceObject[] = [];
    const skipped: number[] = [];
    let offset = 0;
    for (const chunk of chunks) {
      try {
        const r = await this.writeChunk(mode, chunk, opts);
        items.push(...r.items);
        skipped.push(...r.skipped.map((i) => i + offset));
      } catch (err) {
        if (offset > 0) throw new PartialBatchError(items.length, chunks.length, err);
        throw err;
      }
      offset += chunk.length;
    }
    return { items, skipped, transactions: chunks.length };
  }

  private async writeChunk(mode: WriteMode, chunk: readonly Prepared[], opts: BatchOptions): Promise<{ items: ResourceObject[]; skipped: number[] }> {
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) await backoff(attempt);
      const keys = keysToRead(chunk);
      const pairs = await Promise.all(keys.map((k) => this.datastore.get(k)));
      const current = new Map<string, KVPair>();
      pairs.forEach((kv) => kv && current.set(kv.key, kv));
      // A tier's policies are listed after the tier was read: see tiers.ts.
      const deletingTier = mode === 'delete' && chunk.some((p) => p.ref.kind === 'Tier');
      const tierUse = deletingTier ? await listTierUse(this.datastore) : undefined;
      const plan = planWrites(mode, chunk, current, { now: this.now, uuid: this.uuid, ...opts, ...(tierUse === undefined ? {} : { tierUse }) });
      if (plan.ops.length === 0) return { items: [], skipped: plan.skipped };
      try {
        const { results } = await this.datastore.txn(plan.ops);
        const items = results.filter((_, i) => !plan.owners[i]!.derived).map(toResource);
        return { items, skipped: plan.skipped };
      } catch (err) {
        const raced = isDatastoreError(err, 'Conflict') || isDatastoreError(err, 'AlreadyExists') || isDatastoreError(err, 'NotFound');
        if (!raced) throw err;
        if (attempt >= MAX_ATTEMPTS) {
          const owner = err.opIndex === undefined ? undefined : plan.owners[err.opIndex];
          throw fromDatastoreError(err, owner?.ref);
        }
      }
    }
  }
}

/** Every tiered policy, grouped by its tier. */
async function listTierUse(ds: Datastore): Promise<TierUse> {
  const use = new Map<string, { key: string; ref: ResourceRef }[]>();
  for (const kindName of TIERED_KINDS) {
    const kind = kindInfo(kindName, 'projectcalico.org/v3');
    const { items } = await ds.list(kind.keyPrefix);
    for (const kv of items) {
      if (kv.key.slice(kind.keyPrefix.length).split('/').length !== (kind.namespaced ? 2 : 1)) continue;
      const r = kv.value as unknown as ResourceObject;
      const tier = tierOf(r);
      if (tier === undefined) continue;
      const name = r.metadata.name ?? '';
      const ref: ResourceRef = kind.namespaced ? { kind: kind.kind, namespace: r.metadata.namespace ?? '', name } : { kind: kind.kind, name };
      use.set(tier, [...(use.get(tier) ?? []), { key: kv.key, ref }]);
    }
  }
  return use;
}

/**
 * Split prepared objects into runs that fit one transaction: at most `limit` operations (object,
 * conversions, tier guards) and values of at most `byteLimit` bytes together (etcd's request size).
 */
export function chunkByOps(prepared: readonly Prepared[], limit = MAX_TXN_OPS, byteLimit = MAX_RESOURCE_BYTES): Prepared[][] {
  const chunks: Prepared[][] = [];
  let current: Prepared[] = [];
  let ops = 0;
  let bytes = 0;
  for (const p of prepared) {
    // A policy's tier is rewritten in the same transaction: count it as an op of its own.
    const n = 1 + p.derived.length + (p.tiers?.length ?? 0);
    if ((ops + n > limit || bytes + p.bytes > byteLimit) && current.length > 0) {
      chunks.push(current);
      current = [];
      ops = 0;
      bytes = 0;
    }
    current.push(p);
    ops += n;
    bytes += p.bytes;
  }
  if (current.length > 0 || chunks.length === 0) chunks.push(current);
  return chunks;
}
