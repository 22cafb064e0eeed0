// IPPool (calico-internals §2.1): a range of addresses IPAM hands out in blocks.
//
// Rules (Calico's validator and CEL markers): the CIDR is strictly masked and does not touch the
// link-local ranges; blockSize is 20–32 (v4) or 116–128 (v6) and no smaller than the pool unless
// the pool is disabled; IPIP is v4-only and excludes VXLAN; nodeSelector may not use global();
// LoadBalancer pools stand alone (no other use, no encapsulation, BGP export on, all nodes);
// Tunnel pools take no namespaceSelector. Defaults: blockSize 26/122, ipipMode and vxlanMode
// Never, nodeSelector all(), allowedUses [Workload, Tunnel], assignmentMode Automatic.

import * as v from 'valibot';
import { type CIDR, CIDRParseError, cidrsOverlap, formatCIDR, parseCIDR } from '../../ip/index.js';
import { type DefaultRule, defaultRule } from '../defaults.js';
import { CALICO_API_VERSION } from '../kinds.js';
import { type RuleIssue, bool, check, withRules, int, list, obj, oneOf, opt, str } from '../schema-kit.js';
import { selectorProblem } from '../selectors.js';
import { envelope } from './envelope.js';

export const EncapModes = ['Never', 'Always', 'CrossSubnet'] as const;
export const AllowedUses = ['Workload', 'Tunnel', 'LoadBalancer'] as const;

const LINK_LOCAL_V4 = parseCIDR('169.254.0.0/16');
const LINK_LOCAL_V6 = parseCIDR('fe80::/10');

/** A selector field, parsed; `global()` is refused unless allowed. */
export function selectorField(opts: { allowGlobal?: boolean } = {}) {
  return v.pipe(
    str(),
    check('selector', (s: string) => selectorProblem(s, opts)),
  );
}

/**
 * A pool CIDR as Calico's validator reads it: host bits are allowed and masked off
 * ("10.244.3.220/24" is the pool 10.244.3.0/24, stored normalised), but the prefix is required.
 */
function parsePoolCIDR(text: string): CIDR | string {
  if (text.length > 48) return `CIDR is ${text.length} characters long; at most 48 are allowed`;
  if (!text.includes('/')) return `${JSON.stringify(text)} is not a CIDR: missing "/prefix" (e.g. "10.244.0.0/16")`;
  try {
    return parseCIDR(text, { lenient: true });
  } catch (e) {
    if (e instanceof CIDRParseError) return e.reason === 'missing "/prefix"' ? `${JSON.stringify(text)} is not a CIDR: ${e.reason} (e.g. "10.244.0.0/16")` : e.reason;
    throw e;
  }
}

const IPPoolSpecShape = obj({
    cidr: v.pipe(
      str(),
      check('cidr', (s: string) => {
        const c = parsePoolCIDR(s);
        return typeof c === 'string' ? c : undefined;
      }),
    ),
    vxlanMode: opt(oneOf(EncapModes)),
    ipipMode: opt(oneOf(EncapModes)),
    natOutgoing: opt(bool()),
    disabled: opt(bool()),
    disableBGPExport: opt(bool()),
    blockSize: opt(int(0, 128)),
    nodeSelector: opt(selectorField()),
    namespaceSelector: opt(selectorField()),
    allowedUses: opt(list(oneOf(AllowedUses))),
    assignmentMode: opt(oneOf(['Automatic', 'Manual'] as const)),
    // APIv1 leftovers: accepted by the decoder, refused by the validator if set.
    ipip: opt(obj({ enabled: opt(bool()), mode: opt(oneOf(['always', 'cross-subnet', ''] as const)) })),
    'nat-outgoing': opt(bool()),
});

type Spec = v.InferOutput<typeof IPPoolSpecShape>;
const IPPoolSpec = withRules(IPPoolSpecShape, ipPoolSpecRules);

const enabled = (mode: string | undefined) => mode !== undefined && mode !== 'Never';

function ipPoolSpecRules(s: Spec): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const add = (path: (string | number)[], rule: string, message: string) => issues.push({ path, rule, message });
  const c = parsePoolCIDR(s.cidr);
  if (typeof c === 'string') return issues; // reported on the field itself
  const v6 = c.family === 6;
  if (s.blockSize !== undefined && s.blockSize !== 0) {
    const [lo, hi] = v6 ? [116, 128] : [20, 32];
    if (s.blockSize < lo || s.blockSize > hi) {
      add(['blockSize'], 'block-size', `IPv${c.family} block size must be from ${lo} to ${hi}, not ${s.blockSize}`);
    }
  }
  const blockSize = s.blockSize === undefined || s.blockSize === 0 ? (v6 ? 122 : 26) : s.blockSize;
  if (!s.disabled && c.prefix > blockSize) {
    add(['cidr'], 'pool-smaller-than-block', `the pool /${c.prefix} is smaller than its /${blockSize} blocks; use a pool prefix of at most /${blockSize}, a longer blockSize, or disabled: true`);
  }
  const linkLocal = v6 ? LINK_LOCAL_V6 : LINK_LOCAL_V4;
  if (cidrsOverlap(c, linkLocal)) {
    add(['cidr'], 'link-local-overlap', `${formatCIDR(c)} overlaps the IPv${c.family} link-local range ${formatCIDR(linkLocal)}; choose a range outside it`);
  }
  if (v6 && enabled(s.ipipMode)) add(['ipipMode'], 'ipip-ipv6', `IPIP is not supported on an IPv6 pool; set ipipMode: Never (or use vxlanMode)`);
  if (enabled(s.ipipMode) && enabled(s.vxlanMode)) {
    add(['vxlanMode'], 'ipip-vxlan-exclusive', `ipipMode (${s.ipipMode}) and vxlanMode (${s.vxlanMode}) cannot both be enabled; set one of them to Never`);
  }
  if (s.nodeSelector !== undefined && /\bglobal\(\s*\)/.test(s.nodeSelector)) {
    add(['nodeSelector'], 'selector-global', `global() is not allowed in an IPPool nodeSelector; use all() or a label expression`);
  }
  const uses = s.allowedUses ?? [];
  const seen = new Set<string>();
  uses.forEach((u, i) => {
    if (seen.has(u)) add(['allowedUses', i], 'duplicate', `${u} is listed twice`);
    seen.add(u);
  });
  if (uses.includes('LoadBalancer')) {
    if (uses.length > 1) add(['allowedUses'], 'loadbalancer-exclusive', `LoadBalancer cannot be combined with other uses (${uses.filter((u) => u !== 'LoadBalancer').join(', ')}); make a separate pool`);
    if (enabled(s.ipipMode) || enabled(s.vxlanMode)) add(['allowedUses'], 'loadbalancer-encap', `a LoadBalancer pool cannot use IPIP or VXLAN; set ipipMode and vxlanMode to Never`);
    if (s.disableBGPExport) add(['disableBGPExport'], 'loadbalancer-bgp-export', `a LoadBalancer pool must be exported over BGP; remove disableBGPExport`);
    if (s.nodeSelector !== undefined && s.nodeSelector.trim() !== 'all()') add(['nodeSelector'], 'loadbalancer-node-selector', `a LoadBalancer pool must have nodeSelector all(), not ${JSON.stringify(s.nodeSelector)}`);
  }
  const tunnel = s.allowedUses === undefined || s.allowedUses.length === 0 || uses.includes('Tunnel');
  if (tunnel && s.namespaceSelector !== undefined && s.namespaceSelector !== '') {
    add(['namespaceSelector'], 'tunnel-namespace-selector', `a pool used for Tunnel addresses cannot have a namespaceSelector; remove it or drop Tunnel from allowedUses`);
  }
  if (s.ipip !== undefined) add(['ipip'], 'must-be-nil', `ipip is an APIv1 field; use ipipMode instead`);
  if (s['nat-outgoing'] === true) add(['nat-outgoing'], 'must-be-false', `nat-outgoing is an APIv1 field; use natOutgoing instead`);
  return issues;
}

export const IPPoolSchema = envelope('IPPool', {
  apiVersion: CALICO_API_VERSION,
  namespaced: false,
  spec: IPPoolSpec,
});

export type IPPool = v.InferOutput<typeof IPPoolSchema>;

function poolFamily(r: IPPool): 4 | 6 | undefined {
  const c = parsePoolCIDR(r.spec.cidr);
  return typeof c === 'string' ? undefined : c.family;
}

/**
 * Calico stores the CIDR in canonical text (validator: `pool.Spec.CIDR = cidr.String()`), and a
 * blockSize of 0 means "the default" (Go's zero value), filled in like an absent one.
 */
export function normaliseIPPool(r: IPPool): IPPool {
  const c = parsePoolCIDR(r.spec.cidr);
  const spec = typeof c === 'string' ? { ...r.spec } : { ...r.spec, cidr: formatCIDR(c) };
  if (spec.blockSize === 0) delete spec.blockSize;
  return { ...r, spec };
}

export const ipPoolDefaults: readonly DefaultRule<IPPool>[] = [
  defaultRule('spec.blockSize', (r) => (poolFamily(r) === 6 ? 122 : 26)),
  defaultRule('spec.ipipMode', () => 'Never'),
  defaultRule('spec.vxlanMode', () => 'Never'),
  defaultRule('spec.nodeSelector', () => 'all()'),
  defaultRule('spec.allowedUses', () => ['Workload', 'Tunnel']),
  defaultRule('spec.assignmentMode', () => 'Automatic'),
];
