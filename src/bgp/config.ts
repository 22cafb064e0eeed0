// The standalone speaker's configuration file (`tabby bgp run --config FILE`): YAML whose field
// names follow Calico's BGPConfiguration / BGPPeer / BGPFilter where they overlap. Parsed and
// validated here into a typed SpeakerConfig; every problem names the file, the field path and
// what would be right. Pure apart from the text it is given.

import * as v from 'valibot';
import { parse as parseYaml } from 'yaml';
import { type CIDR, type IPAddr, tryParseCIDR, tryParseIP } from '../ip/index.js';
import type { FilterRule, PrefixFilter } from './rib/index.js';
import type { LargeCommunity } from './wire/index.js';

export class BgpConfigError extends Error {
  override readonly name = 'BgpConfigError';
  readonly code = 'BgpConfigError';
  constructor(readonly source: string, readonly problems: readonly string[]) {
    super(`${source}: invalid BGP configuration:\n  ${problems.join('\n  ')}`);
  }
}

export type Family = 'ipv4' | 'ipv6';

/** A TCP-MD5 password (RFC 2385): its text only through `reveal()`; JSON, string and inspection
 *  show a placeholder, so a logged or printed configuration never carries the key. */
export class Password {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return '(password)';
  }
  toString(): string {
    return '(password)';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'Password(…)';
  }
}

/** Linux's TCP_MD5SIG_MAXKEYLEN. */
export const MAX_PASSWORD_BYTES = 80;

export interface PeerConfig {
  readonly name: string;
  readonly address: IPAddr;
  readonly port: number;
  readonly asNumber: number;
  readonly localAddress?: IPAddr;
  readonly passive: boolean;
  /** eBGP multihop TTL; accepted, see README (Node.js cannot lower the TTL to 1 for single-hop). */
  readonly multihop?: number;
  readonly routeReflectorClient: boolean;
  readonly nextHopMode: 'Auto' | 'Self' | 'Keep';
  readonly holdTime: number;
  readonly keepaliveTime: number;
  readonly connectRetryTime: number;
  readonly delayOpenTime: number;
  readonly families: readonly Family[];
  readonly gracefulRestart: boolean;
  readonly maxRestartTime: number;
  readonly importFilter: PrefixFilter;
  readonly exportFilter: PrefixFilter;
  /** BFD (RFC 5880/5881, single hop) for this peer; undefined = off. */
  readonly bfd?: BfdPeerConfig;
  /** TCP-MD5 signatures (RFC 2385) with this key, on every segment both ways; undefined = off. */
  readonly password?: Password;
  /** GTSM (RFC 5082): the peer is this many hops away (1 = directly connected); we send with
   *  TTL 255 and drop segments arriving with a TTL below 256 - hops. undefined = off. */
  readonly ttlSecurity?: number;
}

/** `bfd: true` or `bfd: { minTxMs, minRxMs, multiplier }` on a peer. */
export interface BfdPeerConfig {
  /** Desired Min TX interval once Up, milliseconds. */
  readonly minTxMs: number;
  /** Required Min RX interval, milliseconds. */
  readonly minRxMs: number;
  /** Detect Mult: packets missed before the peer declares us down. */
  readonly multiplier: number;
}

export const DEFAULT_BFD: BfdPeerConfig = { minTxMs: 200, minRxMs: 200, multiplier: 3 };

export interface SpeakerConfig {
  readonly asNumber: number;
  readonly routerID: number;
  readonly routeReflectorClusterID: number;
  readonly listenAddress?: string;
  /** 0 = do not listen. */
  readonly listenPort: number;
  readonly nextHopV6?: IPAddr;
  readonly originate: readonly CIDR[];
  /** Communities to tag originated prefixes with, by CIDR text (cluster mode: prefixAdvertisements). */
  readonly originateTags?: ReadonlyMap<string, { readonly communities?: readonly number[]; readonly largeCommunities?: readonly LargeCommunity[] }>;
  /** Kernel routing table for learned routes (route protocol 81), or undefined for none. */
  readonly kernelTable?: number;
  readonly kernelResyncSeconds: number;
  readonly statusSocket: string;
  readonly metricsAddress?: { host: string; port: number };
  readonly gracefulRestartTime: number;
  /** When restarting: how long to wait for every peer's End-of-RIB before selecting and sending anyway. */
  readonly selectionDeferralTime: number;
  /** Milliseconds changes may wait before being sent (pacing, like MRAI); 0 = next turn. */
  readonly updateDelayMs: number;
  readonly logLevel?: string;
  readonly peers: readonly PeerConfig[];
}

export const DEFAULT_STATUS_SOCKET = '/run/tabby/bgp.sock';

const asn = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(4294967295));
const seconds = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535));
const text = v.pipe(v.string(), v.minLength(1));

const ruleSchema = v.strictObject({
  action: v.picklist(['Accept', 'Reject']),
  cidr: v.optional(text),
  matchOperator: v.optional(v.picklist(['Equal', 'NotEqual', 'In', 'NotIn'])),
  prefixLength: v.optional(v.strictObject({ min: v.optional(v.pipe(v.number(), v.integer())), max: v.optional(v.pipe(v.number(), v.integer())) })),
  source: v.optional(v.string()),
  interface: v.optional(v.string()),
});
const filterSchema = v.strictObject({
  exportV4: v.optional(v.array(ruleSchema), []),
  importV4: v.optional(v.array(ruleSchema), []),
  exportV6: v.optional(v.array(ruleSchema), []),
  importV6: v.optional(v.array(ruleSchema), []),
});

const peerSchema = v.strictObject({
  name: v.optional(text),
  peerIP: text,
  port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535)), 179),
  asNumber: asn,
  localAddress: v.optional(text),
  passive: v.optional(v.boolean(), false),
  multihop: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(255))),
  ttlSecurity: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(255))),
  password: v.optional(v.string()),
  routeReflectorClient: v.optional(v.boolean(), false),
  nextHopMode: v.optional(v.picklist(['Auto', 'Self', 'Keep']), 'Auto'),
  holdTime: v.optional(seconds),
  keepaliveTime: v.optional(seconds),
  connectRetryTime: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535))),
  delayOpenTime: v.optional(seconds, 0),
  families: v.optional(v.array(v.picklist(['ipv4', 'ipv6']))),
  gracefulRestart: v.optional(v.boolean()),
  maxRestartTime: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(4095))),
  filters: v.optional(v.array(text), []),
  bfd: v.optional(v.union([
    v.boolean(),
    v.strictObject({
      minTxMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(10), v.maxValue(60000))),
      minRxMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(10), v.maxValue(60000))),
      multiplier: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(255))),
    }),
  ])),
});

const configSchema = v.strictObject({
  asNumber: asn,
  routerID: text,
  routeReflectorClusterID: v.optional(text),
  listenAddress: v.optional(text),
  listenPort: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535)), 179),
  nextHopV6: v.optional(text),
  holdTime: v.optional(seconds, 90),
  keepaliveTime: v.optional(seconds, 0),
  connectRetryTime: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535)), 5),
  gracefulRestart: v.optional(
    v.strictObject({
      enabled: v.optional(v.boolean(), true),
      restartTime: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(4095)), 120),
      selectionDeferralTime: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(3600)), 240),
    }),
    {},
  ),
  originate: v.optional(v.array(text), []),
  kernel: v.optional(v.union([v.literal('none'), v.strictObject({ table: v.optional(v.union([v.literal('main'), v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(4294967295))]), 'main'), resyncSeconds: v.optional(v.pipe(v.number(), v.minValue(1)), 30) })]), {}),
  statusSocket: v.optional(text, DEFAULT_STATUS_SOCKET),
  metricsAddress: v.optional(text),
  updateDelayMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(60000)), 0),
  logLevel: v.optional(v.picklist(['debug', 'info', 'warn', 'error'])),
  filters: v.optional(v.record(v.string(), filterSchema), {}),
  peers: v.optional(v.array(peerSchema), []),
});

/** Why a password cannot be a TCP-MD5 key, or undefined when it can. */
export function passwordProblem(text: string): string | undefined {
  const n = Buffer.byteLength(text, 'utf8');
  if (n === 0) return 'must not be empty (omit it for no TCP-MD5)';
  if (n > MAX_PASSWORD_BYTES) return `is ${n} bytes; TCP-MD5 keys are at most ${MAX_PASSWORD_BYTES} bytes`;
  return undefined;
}

const ipv4ToNumber = (a: IPAddr): number => Number(a.value);

/** Parses and validates the YAML text of a configuration file. Throws BgpConfigError. */
export function parseSpeakerConfig(textIn: string, source: string): SpeakerConfig {
  let raw: unknown;
  try {
    raw = parseYaml(textIn);
  } catch (e) {
    throw new BgpConfigError(source, [`not valid YAML: ${(e as Error).message}`]);
  }
  const r = v.safeParse(configSchema, raw ?? {});
  if (!r.success) throw new BgpConfigError(source, r.issues.map((i) => `${v.getDotPath(i) ?? '(top level)'}: ${i.message}`));
  const c = r.output;
  const problems: string[] = [];
  const addr = (t: string, where: string, family?: 4 | 6): IPAddr | undefined => {
    const a = tryParseIP(t);
    if (!a) problems.push(`${where}: "${t}" is not an IP address`);
    else if (family && a.family !== family) problems.push(`${where}: "${t}" must be an IPv${family} address`);
    return a;
  };
  const routerId = addr(c.routerID, 'routerID', 4);
  const clusterId = c.routeReflectorClusterID ? addr(c.routeReflectorClusterID, 'routeReflectorClusterID', 4) : routerId;
  const nextHopV6 = c.nextHopV6 ? addr(c.nextHopV6, 'nextHopV6', 6) : undefined;
  const originate: CIDR[] = [];
  c.originate.forEach((t, i) => {
    const p = tryParseCIDR(t);
    if (!p) problems.push(`originate[${i}]: "${t}" is not a CIDR with host bits clear (e.g. 10.1.0.0/24)`);
    else originate.push(p);
  });

  const rules = (list: v.InferOutput<typeof ruleSchema>[], where: string, family: 4 | 6): FilterRule[] =>
    list.map((r, i) => {
      const rule: { -readonly [K in keyof FilterRule]: FilterRule[K] } = { action: r.action };
      if (r.cidr !== undefined) {
        const p = tryParseCIDR(r.cidr, { lenient: true });
        if (!p || p.family !== family) problems.push(`${where}[${i}].cidr: "${r.cidr}" is not an IPv${family} CIDR`);
        else rule.cidr = p;
        if (!r.matchOperator) problems.push(`${where}[${i}]: cidr needs a matchOperator (Equal, NotEqual, In or NotIn)`);
      } else if (r.matchOperator) problems.push(`${where}[${i}]: matchOperator needs a cidr`);
      if (r.matchOperator) rule.matchOperator = r.matchOperator;
      if (r.prefixLength) {
        const { min, max } = r.prefixLength;
        rule.prefixLength = { ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
      }
      if (r.source !== undefined || r.interface !== undefined) problems.push(`${where}[${i}]: source and interface select kernel routes, which this standalone speaker does not export; remove them`);
      return rule;
    });
  const filters = new Map<string, { imp: PrefixFilter; exp: PrefixFilter }>();
  for (const [name, f] of Object.entries(c.filters)) {
    filters.set(name, {
      imp: { v4: rules(f.importV4, `filters.${name}.importV4`, 4), v6: rules(f.importV6, `filters.${name}.importV6`, 6) },
      exp: { v4: rules(f.exportV4, `filters.${name}.exportV4`, 4), v6: rules(f.exportV6, `filters.${name}.exportV6`, 6) },
    });
  }

  const seen = new Set<string>();
  const bfdAddresses = new Set<string>();
  const peers: PeerConfig[] = [];
  c.peers.forEach((p, i) => {
    const where = `peers[${i}]`;
    const address = addr(p.peerIP, `${where}.peerIP`);
    const pwProblem = p.password !== undefined ? passwordProblem(p.password) : undefined;
    if (pwProblem) problems.push(`${where}.password: ${pwProblem}`);
    const localAddress = p.localAddress ? addr(p.localAddress, `${where}.localAddress`) : undefined;
    if (!address) return;
    const key = `${p.peerIP}:${p.port}`;
    if (seen.has(key)) problems.push(`${where}.peerIP: ${key} is configured twice`);
    seen.add(key);
    const chosen = p.filters.map((n) => {
      const f = filters.get(n);
      if (!f) problems.push(`${where}.filters: no filter named "${n}" under filters`);
      return f;
    });
    const merge = (pick: 'imp' | 'exp'): PrefixFilter => ({
      v4: chosen.flatMap((f) => f?.[pick].v4 ?? []),
      v6: chosen.flatMap((f) => f?.[pick].v6 ?? []),
    });
    const gr = p.gracefulRestart ?? c.gracefulRestart.enabled;
    const b = p.bfd;
    const bfd: BfdPeerConfig | undefined = b === true ? DEFAULT_BFD
      : b ? { minTxMs: b.minTxMs ?? DEFAULT_BFD.minTxMs, minRxMs: b.minRxMs ?? DEFAULT_BFD.minRxMs, multiplier: b.multiplier ?? DEFAULT_BFD.multiplier }
      : undefined;
    peers.push({
      name: p.name ?? `peer_${p.peerIP.replace(/[.:]/g, '_')}`,
      address,
      port: p.port,
      asNumber: p.asNumber,
      ...(localAddress ? { localAddress } : {}),
      passive: p.passive,
      ...(p.multihop !== undefined ? { multihop: p.multihop } : {}),
      routeReflectorClient: p.routeReflectorClient,
      nextHopMode: p.nextHopMode,
      holdTime: p.holdTime ?? c.holdTime,
      keepaliveTime: p.keepaliveTime ?? c.keepaliveTime,
      connectRetryTime: p.connectRetryTime ?? c.connectRetryTime,
      delayOpenTime: p.delayOpenTime,
      families: p.families ?? (address.family === 4 ? ['ipv4'] : ['ipv6']),
      gracefulRestart: gr,
      maxRestartTime: p.maxRestartTime ?? c.gracefulRestart.restartTime,
      importFilter: merge('imp'),
      exportFilter: merge('exp'),
      ...(bfd ? { bfd } : {}),
      ...(p.password !== undefined && !pwProblem ? { password: new Password(p.password) } : {}),
      ...(p.ttlSecurity ? { ttlSecurity: p.ttlSecurity } : {}),
    });
    const bfdKey = `${address.family}/${address.value}`;
    if (bfd && bfdAddresses.has(bfdKey)) problems.push(`${where}.bfd: another peer at ${p.peerIP} has BFD already; one BFD session serves one address`);
    if (bfd) bfdAddresses.add(bfdKey);
    if (p.bfd && p.multihop !== undefined && p.multihop > 1) problems.push(`${where}.bfd: BFD here is single-hop (RFC 5881); a multihop peer (multihop: ${p.multihop}) needs RFC 5883, which Tabby does not implement`);
    const hold = p.holdTime ?? c.holdTime;
    if (hold === 1 || hold === 2) problems.push(`${where}.holdTime: must be 0 or at least 3 seconds`);
  });
  if (c.holdTime === 1 || c.holdTime === 2) problems.push('holdTime: must be 0 or at least 3 seconds');
  // The listener holds one key per address (the kernel's TCP_MD5SIG is keyed by peer address).
  const keyOf = new Map<string, { text: string | undefined; where: string }>();
  c.peers.forEach((p, i) => {
    const k = `${p.peerIP}`;
    const prev = keyOf.get(k);
    if (prev && prev.text !== p.password) problems.push(`peers[${i}].password: ${prev.where} has the same peerIP ${p.peerIP} with a different password; TCP-MD5 keys are per address, so they must match`);
    else keyOf.set(k, { text: p.password, where: `peers[${i}]` });
  });

  let metricsAddress: { host: string; port: number } | undefined;
  if (c.metricsAddress) {
    const m = /^(.*):(\d+)$/.exec(c.metricsAddress);
    if (!m || Number(m[2]) > 65535) problems.push(`metricsAddress: "${c.metricsAddress}" should be HOST:PORT, e.g. 127.0.0.1:9180`);
    else metricsAddress = { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
  }
  if (problems.length > 0) throw new BgpConfigError(source, problems);
  return {
    asNumber: c.asNumber,
    routerID: ipv4ToNumber(routerId!),
    routeReflectorClusterID: ipv4ToNumber(clusterId!),
    ...(c.listenAddress ? { listenAddress: c.listenAddress } : {}),
    listenPort: c.listenPort,
    ...(nextHopV6 ? { nextHopV6 } : {}),
    originate,
    ...(c.kernel === 'none' ? {} : { kernelTable: c.kernel.table === 'main' ? 254 : c.kernel.table }),
    kernelResyncSeconds: c.kernel === 'none' ? 30 : c.kernel.resyncSeconds,
    statusSocket: c.statusSocket,
    ...(metricsAddress ? { metricsAddress } : {}),
    gracefulRestartTime: c.gracefulRestart.restartTime,
    selectionDeferralTime: c.gracefulRestart.selectionDeferralTime,
    updateDelayMs: c.updateDelayMs,
    ...(c.logLevel ? { logLevel: c.logLevel } : {}),
    peers,
  };
}
