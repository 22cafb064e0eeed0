// Everything the allocator remembers between requests, in one place. Nothing else in IPAM keeps
// state that outlives a request (the group commit's queues aside, group-commit.ts).
//
// Invariants:
// - Everything here is a hint. Every write built from it is a compare-and-swap on the revision it
//   was read at, so a stale entry costs one failed transaction — after which the caller drops what
//   it leaned on (`forgetFamily`, `dropAffinities`, `forgetBlock`) — never a duplicate address.
//   Decisions that delete or repair a record read it fresh (`freshBlock`).
// - Reads of configuration-like state — pools, IPAM configuration and reservations (the request
//   context), a node's labels, a family's block listing — are reused for `ttlMs` (0: read for
//   every request). A long-lived agent sets ~1000 ms: a pool disabled now may serve requests for
//   that long, which Calico's own caches also allow.
// - A node's affinity list is reused for at least 1 ms (so requests arriving together share one
//   read) and at most `ttlMs`; our own claims are added to it and to the block listing as they
//   are made, so the next request needs no read.
// - Block copies have no age limit: they change only by our own committed writes (`wrote`),
//   fresh reads, or being dropped after a conflict.
// - The `cached*` accessors answer without a trip through the event loop (undefined when a read
//   is due): that is every request's path once the caches are warm.

import type { KeyListResult, TxnOp, TxnResult } from '../datastore/index.js';
import type { CIDR, IPAddr, IPFamily } from '../ip/index.js';
import { blockKey, blockPrefix, parseBlockKey, type AllocationBlock, type IpamConfig } from '../model/index.js';
import type { Logger } from '../util/log.js';
import { IpamError } from './api.js';
import type { IpamPool, LabelMatcher, Labels, SelectorParser } from './core/pools.js';
import type { ReservationSet } from './core/reservations.js';
import type { IpamStore, StoredAffinity, Versioned } from './store.js';

/** What every request consults: read together, reused together. */
export interface RequestContext {
  readonly pools: IpamPool[];
  readonly config: IpamConfig;
  readonly reservations: ReservationSet;
  /** The reservation test, or undefined when nothing is reserved (the common, fast case). */
  readonly reserved: ((a: IPAddr) => boolean) | undefined;
  /** Parses pool selectors, each once per context. */
  readonly parseSelector: SelectorParser;
}

/** A family's block keys at one revision, with the CIDRs they name. */
export interface BlockListing extends KeyListResult {
  readonly cidrs: CIDR[];
}

interface Timed<T> {
  readonly value: T;
  readonly at: number;
}

export class IpamCache {
  private context: Timed<RequestContext> | undefined;
  private readonly labels = new Map<string, Timed<Labels>>();
  private readonly affinities = new Map<string, Timed<StoredAffinity[]>>();
  private readonly listings = new Map<IPFamily, Timed<BlockListing>>();
  private readonly blocks = new Map<string, Versioned<AllocationBlock>>();

  constructor(
    private readonly store: IpamStore,
    private readonly ttlMs: number,
    private readonly parseSelector: SelectorParser,
    private readonly log: Logger,
  ) {}

  private fresh<T>(hit: Timed<T> | undefined, ttl = this.ttlMs): T | undefined {
    return hit && Date.now() - hit.at < ttl ? hit.value : undefined;
  }

  /** Forget everything (tests, or after a configuration change). */
  clear(): void {
    this.context = undefined;
    this.labels.clear();
    this.affinities.clear();
    this.listings.clear();
    this.blocks.clear();
  }

  // ---------------------------------------------------------------- request context

  cachedContext(): RequestContext | undefined {
    return this.fresh(this.context);
  }

  async requestContext(): Promise<RequestContext> {
    const hit = this.cachedContext();
    if (hit) return hit;
    const at = Date.now();
    const [pools, config, reservations] = await Promise.all([this.store.listPools(), this.store.config(), this.store.reservations()]);
    for (const bad of [...pools.invalid, ...reservations.invalid]) this.log.warn('ignoring invalid resource', { key: bad.key, error: bad.error });
    const selectors = new Map<string, LabelMatcher>();
    const parseSelector: SelectorParser = (text) => {
      let m = selectors.get(text);
      if (!m) {
        try {
          m = this.parseSelector(text);
        } catch (e) {
          throw new IpamError('InvalidRequest', `pool selector "${text}" cannot be parsed: ${(e as Error).message}`, { cause: e });
        }
        selectors.set(text, m);
      }
      return m;
    };
    const value: RequestContext = {
      pools: pools.pools,
      config,
      reservations: reservations.set,
      reserved: reservations.set.size > 0 ? reservations.set.isReserved : undefined,
      parseSelector,
    };
    this.context = { value, at };
    return value;
  }

  // ---------------------------------------------------------------- node labels

  cachedLabels(node: string): Labels | undefined {
    return this.fresh(this.labels.get(node));
  }

  /** Labels of the Node resource; a node not (yet) registered has none, so only all() matches. */
  async nodeLabels(node: string): Promise<Labels> {
    const hit = this.cachedLabels(node);
    if (hit) return hit;
    const at = Date.now();
    const value = (await this.store.nodeLabels(node)) ?? {};
    this.labels.set(node, { value, at });
    return value;
  }

  // ---------------------------------------------------------------- affinities

  cachedAffinities(node: string, family: IPFamily): StoredAffinity[] | undefined {
    return this.fresh(this.affinities.get(`${node}|${family}`), Math.max(this.ttlMs, 1));
  }

  async nodeAffinities(node: string, family: IPFamily): Promise<StoredAffinity[]> {
    const hit = this.cachedAffinities(node, family);
    if (hit) return hit;
    const at = Date.now();
    const value = await this.store.listAffinities(node, family);
    this.affinities.set(`${node}|${family}`, { value, at });
    return value;
  }

  dropAffinities(node: string, family: IPFamily): void {
    this.affinities.delete(`${node}|${family}`);
  }

  // ---------------------------------------------------------------- block listings

  /**
   * The family's block keys, listed at most `ttlMs` ago or (`now`) just now: claims and
   * revalidation share it. A listing a little old only costs a claim that finds its subnet taken
   * (the claim is a create), after which the next one lists afresh.
   */
  async blockListing(family: IPFamily, now: boolean): Promise<BlockListing> {
    const hit = now ? undefined : this.fresh(this.listings.get(family));
    if (hit) return hit;
    const at = Date.now();
    const { keys, revision } = await this.store.blockListing(family);
    const value = { keys, revision, cidrs: keys.flatMap(({ key }) => parseBlockKey(key) ?? []) };
    this.listings.set(family, { value, at });
    return value;
  }

  /**
   * A claim this process just made. A block and affinity it wrote go straight into the caches;
   * anything else (another node won the subnet, a two-phase repair) drops what it touched.
   */
  claimed(node: string, family: IPFamily, claim: { outcome: 'claimed' | 'taken'; block?: Versioned<AllocationBlock>; affinity?: StoredAffinity }): void {
    const listed = this.listings.get(family);
    if (claim.outcome === 'taken' || !claim.block) this.listings.delete(family);
    else if (listed) {
      const { key, revision, value } = claim.block;
      const keys = [...listed.value.keys, { key, revision, createRevision: revision }];
      this.listings.set(family, { value: { keys, revision: listed.value.revision, cidrs: [...listed.value.cidrs, value.cidr] }, at: listed.at });
    }
    const k = `${node}|${family}`;
    const hit = this.affinities.get(k);
    if (claim.block && claim.affinity && hit) {
      this.keepBlock(claim.block);
      const aff = claim.affinity;
      this.affinities.set(k, { value: [...hit.value.filter((a) => a.key !== aff.key), aff], at: hit.at });
    } else {
      this.dropAffinities(node, family);
    }
  }

  // ---------------------------------------------------------------- blocks

  peekBlock(cidr: CIDR): Versioned<AllocationBlock> | undefined {
    return this.blocks.get(blockKey(cidr));
  }

  /** The cached copy, else a read (absent blocks are not cached). */
  async block(cidr: CIDR): Promise<Versioned<AllocationBlock> | undefined> {
    return this.peekBlock(cidr) ?? this.freshBlock(cidr);
  }

  /** Always a read; the cache follows it. */
  async freshBlock(cidr: CIDR): Promise<Versioned<AllocationBlock> | undefined> {
    const vb = await this.store.getBlock(cidr);
    if (vb) this.blocks.set(vb.key, vb);
    else this.blocks.delete(blockKey(cidr));
    return vb;
  }

  keepBlock(vb: Versioned<AllocationBlock>): void {
    this.blocks.set(vb.key, vb);
  }

  /** Record a committed transaction whose op `index` wrote `block` (or deleted it). */
  wrote(block: AllocationBlock, op: TxnOp, res: TxnResult, index: number): void {
    if (op.op === 'delete') this.blocks.delete(op.key);
    else this.blocks.set(op.key, { key: op.key, value: block, revision: res.results[index]!.revision });
  }

  forgetBlock(cidr: CIDR): void {
    this.blocks.delete(blockKey(cidr));
  }

  /** After a conflict we cannot place: drop the family's blocks and the node's affinities. */
  forgetFamily(node: string, family: IPFamily): void {
    const prefix = blockPrefix(family);
    for (const k of [...this.blocks.keys()]) if (k.startsWith(prefix)) this.blocks.delete(k);
    this.dropAffinities(node, family);
  }
}
