// Calico rules → CompiledRule, with the selector rewriting Calico's update processors do
// (libcalico-go updateprocessors/rules.go; calico-internals §2.2 "Namespace scoping"):
// - a rule namespaceSelector becomes a pcns.-prefixed selector; inside it all() means "any
//   namespaced endpoint" (has(projectcalico.org/namespace)) and global() "no namespace"
//   (!has(projectcalico.org/namespace));
// - in a namespaced policy without a namespaceSelector the entity is scoped to the policy's
//   namespace (projectcalico.org/namespace == '<ns>');
// - the scope is ANDed into the positive selector whenever the entity names a selector, a
//   notSelector, a namespaceSelector or service accounts, so `notSelector` alone in a
//   namespaced policy means "endpoints of this namespace that do not match";
// - serviceAccounts.names → projectcalico.org/serviceaccount in {...}; serviceAccounts.selector
//   → pcsa.-prefixed; both ANDed;
// - notSelector stays as written (it also matches addresses that are not Calico endpoints).
// An `http` match is recognised and refused: Tabby has no L7 proxy, so the rule never matches
// (http is only allowed on Allow rules, so refusing fails closed).

import { type CIDR, parseCIDR } from '../ip/index.js';
import { type EntityRule, type Rule, parsePort, protocolNumber } from '../model/index.js';
import { type Selector, parseSelector } from '../selector/index.js';
import type { CompiledEntity, CompiledRule, PortMatch } from './ir.js';

export const LABEL_NAMESPACE = 'projectcalico.org/namespace';
export const LABEL_SERVICE_ACCOUNT = 'projectcalico.org/serviceaccount';
const ALL = parseSelector('all()');

export class PolicyCompileError extends Error {
  override readonly name = 'PolicyCompileError';
  readonly code = 'InvalidPolicy';
}

const quote = (s: string): string => (s.includes("'") ? `"${s}"` : `'${s}'`);

/** The pcns.-prefixed form of a namespaceSelector, with all()/global() as Calico rewrites them. */
export function namespaceSelectorText(text: string): string {
  const sel = parseSelector(text);
  if (sel.tree.kind === 'all') return `has(${LABEL_NAMESPACE})`;
  if (sel.tree.kind === 'global') return `!has(${LABEL_NAMESPACE})`;
  return sel.withLabelPrefix('pcns.').toString();
}

/** The selector for serviceAccounts {names, selector}, or undefined when neither is given. */
export function serviceAccountSelectorText(sa: { names?: string[] | undefined; selector?: string | undefined } | undefined): string | undefined {
  if (sa === undefined) return undefined;
  const parts: string[] = [];
  if ((sa.names ?? []).length > 0) parts.push(`${LABEL_SERVICE_ACCOUNT} in { ${sa.names!.map(quote).join(', ')} }`);
  if ((sa.selector ?? '') !== '') parts.push(parseSelector(sa.selector!).withLabelPrefix('pcsa.').toString());
  return parts.length === 0 ? undefined : parts.join(' && ');
}

/** ANDs selector texts, skipping empty ones; undefined when none is left. */
export function andSelectors(parts: readonly (string | undefined)[]): Selector | undefined {
  const texts = parts.filter((p): p is string => p !== undefined && p.trim() !== '');
  if (texts.length === 0) return undefined;
  return parseSelector(texts.length === 1 ? texts[0]! : texts.map((t) => `(${t})`).join(' && '));
}

function ports(values: readonly (number | string)[] | undefined, where: string): PortMatch[] | undefined {
  if (values === undefined || values.length === 0) return undefined;
  return values.map((v) => {
    const p = parsePort(v);
    if (typeof p === 'string') throw new PolicyCompileError(`${where}: ${p}`);
    return p.kind === 'range' ? { kind: 'range', min: p.min, max: p.max } : { kind: 'named', name: p.name };
  });
}

function nets(values: readonly string[] | undefined, where: string): CIDR[] | undefined {
  if (values === undefined || values.length === 0) return undefined;
  return values.map((n) => {
    try {
      return parseCIDR(n, { lenient: true });
    } catch (err) {
      throw new PolicyCompileError(`${where}: ${JSON.stringify(n)} is not a CIDR`, { cause: err });
    }
  });
}

export function compileEntity(e: EntityRule | undefined, namespace: string | undefined, where: string): CompiledEntity {
  const entity = e ?? {};
  const sa = serviceAccountSelectorText(entity.serviceAccounts);
  let scope: string | undefined;
  if ((entity.namespaceSelector ?? '') !== '') scope = namespaceSelectorText(entity.namespaceSelector!);
  else if (namespace !== undefined) scope = `${LABEL_NAMESPACE} == ${quote(namespace)}`;
  const named = (entity.selector ?? '') !== '' || (entity.notSelector ?? '') !== '' || (entity.namespaceSelector ?? '') !== '' || sa !== undefined;
  const selector = named ? andSelectors([entity.selector, scope, sa]) : undefined;
  const notSelector = (entity.notSelector ?? '') !== '' ? parseSelector(entity.notSelector!) : undefined;
  const out: { -readonly [K in keyof CompiledEntity]: CompiledEntity[K] } = { namedPortSelector: selector ?? ALL };
  const n = nets(entity.nets, `${where}.nets`);
  if (n !== undefined) out.nets = n;
  const nn = nets(entity.notNets, `${where}.notNets`);
  if (nn !== undefined) out.notNets = nn;
  if (selector !== undefined) out.selector = selector;
  if (notSelector !== undefined) out.notSelector = notSelector;
  const p = ports(entity.ports, `${where}.ports`);
  if (p !== undefined) out.ports = p;
  const np = ports(entity.notPorts, `${where}.notPorts`);
  if (np !== undefined) out.notPorts = np;
  if (entity.services !== undefined) out.services = { name: entity.services.name ?? '', namespace: entity.services.namespace ?? namespace ?? '' };
  return out;
}

export function compileRule(r: Rule, index: number, namespace: string | undefined, where: string): CompiledRule {
  const at = `${where}[${index}]`;
  const proto = r.protocol === undefined ? undefined : protocolNumber(r.protocol);
  const notProto = r.notProtocol === undefined ? undefined : protocolNumber(r.notProtocol);
  const rule: { -readonly [K in keyof CompiledRule]: CompiledRule[K] } = {
    index,
    action: r.action,
    source: compileEntity(r.source, namespace, `${at}.source`),
    destination: compileEntity(r.destination, namespace, `${at}.destination`),
    original: r,
  };
  if (r.ipVersion !== undefined) rule.ipVersion = r.ipVersion;
  if (proto !== undefined) rule.protocol = proto;
  if (notProto !== undefined) rule.notProtocol = notProto;
  if (r.icmp !== undefined) rule.icmp = { ...(r.icmp.type !== undefined ? { type: r.icmp.type } : {}), ...(r.icmp.code !== undefined ? { code: r.icmp.code } : {}) };
  if (r.notICMP !== undefined) rule.notICMP = { ...(r.notICMP.type !== undefined ? { type: r.notICMP.type } : {}), ...(r.notICMP.code !== undefined ? { code: r.notICMP.code } : {}) };
  if (r.http !== undefined) rule.refused = `${at} has an http match (L7): Tabby enforces no L7 rules, so this rule never matches`;
  else if (r.source?.services !== undefined || r.destination?.services !== undefined) {
    rule.refused = `${at} matches a Kubernetes Service: Tabby has no service index yet, so this rule never matches`;
  }
  return rule;
}

export function compileRules(rules: readonly Rule[] | undefined, namespace: string | undefined, where: string): CompiledRule[] {
  return (rules ?? []).map((r, i) => compileRule(r, i, namespace, where));
}

/** Every selector a rule list needs IP sets for: positive and negated, both sides. */
export function ruleSelectors(rules: readonly CompiledRule[]): Selector[] {
  const out: Selector[] = [];
  for (const r of rules) {
    for (const e of [r.source, r.destination]) {
      if (e.selector !== undefined) out.push(e.selector);
      if (e.notSelector !== undefined) out.push(e.notSelector);
    }
  }
  return out;
}
