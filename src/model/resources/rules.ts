// Policy rules (calico-internals §2.2): Rule, EntityRule, ICMP and HTTP matches.
//
// Rules checked here, as Calico's validator and CEL markers do:
// - action is Allow, Deny, Log or Pass; ipVersion 4 or 6; protocols by name or 1–255;
// - ports and notPorts need protocol TCP, UDP or SCTP (named ports too: Calico's validator asks
//   for a port-carrying protocol whenever ports are present);
// - icmp needs protocol ICMP/ICMPv6; ICMP needs ipVersion 4 and ICMPv6 ipVersion 6; an ICMP code
//   needs a type;
// - nets are IPs or strictly masked CIDRs, one IP version per rule, matching ipVersion; a
//   catch-all (0.0.0.0/0, ::/0) in notNets is refused (it would match nothing);
// - selector/notSelector may not use global(); a namespaceSelector may be global() only whole;
// - services exclude selectors, nets and serviceAccounts, need a name, take no destination
//   ports, and belong in ingress sources and egress destinations only;
// - http only on Allow rules, with protocol TCP or unset, never on egress rules.

import * as v from 'valibot';
import { type RuleIssue, check, withRules, int, list, obj, oneOf, opt, str, strMap } from '../schema-kit.js';
import { selectorProblem } from '../selectors.js';
import { parseNet, portField, protocolField, protocolNumber, protocolSupportsPorts } from './fields.js';

export const RuleActions = ['Allow', 'Deny', 'Log', 'Pass'] as const;

function selectorCheck(opts: { allowGlobal?: 'whole' }) {
  return v.pipe(
    str(),
    check('selector', (s: string) => {
      const problem = selectorProblem(s, opts.allowGlobal === 'whole' ? { allowGlobal: true } : {});
      if (problem !== undefined) return problem;
      if (/global\(/.test(s)) {
        if (opts.allowGlobal !== 'whole') return 'global() can only be used in an EntityRule namespaceSelector';
        if (s.trim() !== 'global()' && !/^\s*global\(\s*\)\s*$/.test(s)) return 'global() cannot be combined with other selectors; use namespaceSelector: global() on its own';
      }
      return undefined;
    }),
  );
}

export const policySelectorField = () => selectorCheck({});

const ServiceAccountMatch = obj({
  names: opt(list(str())),
  selector: opt(selectorCheck({})),
});

const ServiceMatch = obj({
  name: opt(str()),
  namespace: opt(str()),
});

const EntityRuleShape = obj({
  nets: opt(list(str(), 256)),
  notNets: opt(list(str(), 256)),
  selector: opt(selectorCheck({})),
  notSelector: opt(selectorCheck({})),
  namespaceSelector: opt(selectorCheck({ allowGlobal: 'whole' })),
  ports: opt(list(portField(), 50)),
  notPorts: opt(list(portField(), 50)),
  serviceAccounts: opt(ServiceAccountMatch),
  services: opt(ServiceMatch),
});
export type EntityRule = v.InferOutput<typeof EntityRuleShape>;

function entityRuleRules(e: EntityRule): RuleIssue[] {
  const issues: RuleIssue[] = [];
  if (e.services !== undefined) {
    const s = e.services;
    if (s.name === undefined || s.name === '') issues.push({ path: ['services', 'name'], rule: 'required', message: 'services must name a Kubernetes Service' });
    const clash = (
      [
        ['namespaceSelector', e.namespaceSelector],
        ['selector', e.selector],
        ['notSelector', e.notSelector],
        ['serviceAccounts', e.serviceAccounts],
        ['nets', e.nets],
        ['notNets', e.notNets],
      ] as const
    ).filter(([, val]) => val !== undefined && val !== '' && !(Array.isArray(val) && val.length === 0));
    for (const [field] of clash) {
      issues.push({ path: [field], rule: 'services-exclusive', message: `cannot specify ${field} and services on the same rule; services match the Service's endpoints` });
    }
  }
  return issues;
}

const EntityRuleSchema = withRules(EntityRuleShape, entityRuleRules);

const ICMPFields = withRules(obj({ type: opt(int(0, 254)), code: opt(int(0, 255)) }), (i: { type?: number | undefined; code?: number | undefined }) =>
    i.code !== undefined && i.type === undefined ? [{ path: ['code'], rule: 'icmp-code-without-type', message: 'an ICMP code needs an ICMP type (the kernel matches the code only with a type)' }] : [],);

const HTTPPath = obj({ exact: opt(v.pipe(str(), check('max-length', (s: string) => (s.length <= 1024 ? undefined : 'at most 1024 characters')))), prefix: opt(v.pipe(str(), check('max-length', (s: string) => (s.length <= 1024 ? undefined : 'at most 1024 characters')))) });

const HTTPMatch = withRules(obj({ methods: opt(list(str(), 20)), paths: opt(list(HTTPPath, 20)) }), (h: { methods?: string[] | undefined; paths?: { exact?: string | undefined; prefix?: string | undefined }[] | undefined }) => {
    const issues: RuleIssue[] = [];
    const seen = new Set<string>();
    (h.methods ?? []).forEach((m, i) => {
      if (seen.has(m)) issues.push({ path: ['methods', i], rule: 'duplicate', message: `method ${m} is listed twice` });
      seen.add(m);
    });
    (h.paths ?? []).forEach((p, i) => {
      const exact = p.exact ?? '';
      const prefix = p.prefix ?? '';
      if (exact !== '' && prefix !== '') issues.push({ path: ['paths', i], rule: 'http-path', message: "set either 'exact' or 'prefix', not both" });
      const val = exact !== '' ? exact : prefix;
      if (val === '') issues.push({ path: ['paths', i], rule: 'http-path', message: "set 'exact' or 'prefix'" });
      else if (!val.startsWith('/') || /[? #]/.test(val)) {
        issues.push({ path: ['paths', i], rule: 'http-path', message: `path ${JSON.stringify(val)} must start with "/" and contain no "?", "#" or space` });
      }
    });
    return issues;
  });

const RuleShape = obj({
  action: oneOf(RuleActions),
  ipVersion: opt(v.picklist([4, 6] as const, (i) => `must be 4 or 6, not ${JSON.stringify(i.input)}`)),
  protocol: opt(protocolField()),
  notProtocol: opt(protocolField()),
  icmp: opt(ICMPFields),
  notICMP: opt(ICMPFields),
  source: opt(EntityRuleSchema),
  destination: opt(EntityRuleSchema),
  http: opt(HTTPMatch),
  metadata: opt(obj({ annotations: opt(strMap()) })),
});
export type Rule = v.InferOutput<typeof RuleShape>;

export type RuleDirection = 'ingress' | 'egress';

export function ruleRules(r: Rule, direction: RuleDirection): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const add = (path: (string | number)[], rule: string, message: string) => issues.push({ path, rule, message });
  const proto = r.protocol;
  if (!protocolSupportsPorts(proto)) {
    for (const side of ['source', 'destination'] as const) {
      for (const field of ['ports', 'notPorts'] as const) {
        if ((r[side]?.[field] ?? []).length > 0) {
          add([side, field], 'ports-need-protocol', `rules that specify ports must set protocol to TCP, UDP or SCTP${proto === undefined ? '' : ` (protocol is ${proto})`}`);
        }
      }
    }
  }
  const pnum = proto === undefined ? undefined : protocolNumber(proto);
  const npnum = r.notProtocol === undefined ? undefined : protocolNumber(r.notProtocol);
  if (r.icmp !== undefined && pnum !== 1 && pnum !== 58) {
    add(['icmp'], 'icmp-needs-protocol', 'ICMP fields require protocol ICMP or ICMPv6');
  }
  if (r.notICMP !== undefined && pnum !== 1 && pnum !== 58) {
    add(['notICMP'], 'icmp-needs-protocol', 'ICMP fields require protocol ICMP or ICMPv6');
  }
  if ((pnum === 1 || npnum === 1) && r.ipVersion !== undefined && r.ipVersion !== 4) {
    add(['ipVersion'], 'icmp-ip-version', 'protocol ICMP requires ipVersion 4 (use ICMPv6 for IPv6)');
  }
  if ((pnum === 58 || npnum === 58) && r.ipVersion !== undefined && r.ipVersion !== 6) {
    add(['ipVersion'], 'icmp-ip-version', 'protocol ICMPv6 requires ipVersion 6 (use ICMP for IPv4)');
  }

  // Nets: valid, one IP version per rule, matching ipVersion.
  let seen4 = false;
  let seen6 = false;
  for (const side of ['source', 'destination'] as const) {
    for (const field of ['nets', 'notNets'] as const) {
      let v4 = false;
      let v6 = false;
      (r[side]?.[field] ?? []).forEach((n, i) => {
        const c = parseNet(n);
        if (typeof c === 'string') {
          add([side, field, i], 'net', c);
          return;
        }
        if (c.family === 4) v4 = true;
        else v6 = true;
        if (field === 'notNets' && c.prefix === 0) {
          add([side, field, i], 'catch-all-not-net', `${n} in notNets matches every address, so the rule could never match; remove it`);
        }
      });
      if (r.ipVersion !== undefined && ((v4 && r.ipVersion !== 4) || (v6 && r.ipVersion !== 6))) {
        add([side, field], 'ip-version-mismatch', `rule ipVersion ${r.ipVersion} doesn't match the IP version of these CIDRs`);
      }
      if ((v4 && seen6) || (v6 && seen4) || (v4 && v6)) {
        add([side, field], 'mixed-ip-versions', 'rule contains both IPv4 and IPv6 CIDRs; split it into one rule per IP version');
      }
      seen4 ||= v4;
      seen6 ||= v6;
    }
  }

  if (r.http !== undefined) {
    if (r.action !== 'Allow') add(['http'], 'http-allow-only', `HTTP match is only valid on Allow rules, not ${r.action}`);
    if (proto !== undefined && pnum !== 6) add(['protocol'], 'http-protocol', 'rules with an HTTP match must have protocol TCP or no protocol');
    if (direction === 'egress') add(['http'], 'http-egress', 'HTTP match is not allowed in egress rules');
  }
  if (r.destination?.services !== undefined) {
    for (const field of ['ports', 'notPorts'] as const) {
      if ((r.destination[field] ?? []).length > 0) add(['destination', field], 'services-ports', `cannot specify ${field} with a destination service; the service's ports are used`);
    }
  }
  if (direction === 'egress' && r.source?.services !== undefined) {
    add(['source', 'services'], 'services-direction', 'services are not allowed in the source of an egress rule (use destination)');
  }
  if (direction === 'ingress' && r.destination?.services !== undefined) {
    add(['destination', 'services'], 'services-direction', 'services are not allowed in the destination of an ingress rule (use source)');
  }
  return issues;
}

export const IngressRule = withRules(RuleShape, (r: Rule) => ruleRules(r, 'ingress'));
export const EgressRule = withRules(RuleShape, (r: Rule) => ruleRules(r, 'egress'));
