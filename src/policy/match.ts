// Does one compiled rule match one flow? The answer carries the first reason it does not, in
// words a person reads in `policy explain` ("protocol is UDP, the rule wants TCP").
//
// Selector and named-port tests go through the calculation graph's IP sets, exactly as the
// dataplane matches packets (by address), so explain and the dataplane cannot disagree.

import { cidrContainsIP, formatCIDR, parseIP } from '../ip/index.js';
import type { PolicyGraph } from './graph.js';
import type { CompiledEntity, CompiledRule, Direction, PortMatch } from './ir.js';

export interface FlowEnd {
  /** Canonical address text. */
  readonly ip: string;
  readonly port?: number;
}

export interface FlowPackets {
  readonly src: FlowEnd;
  readonly dst: FlowEnd;
  readonly protocol: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
}

export type RuleMatch = { readonly matched: true } | { readonly matched: false; readonly reason: string };

const PROTOCOL_NAMES: Readonly<Record<number, string>> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 132: 'SCTP', 136: 'UDPLite' };
export const protocolName = (p: number): string => PROTOCOL_NAMES[p] ?? String(p);

const NO: (reason: string) => RuleMatch = (reason) => ({ matched: false, reason });
const YES: RuleMatch = { matched: true };

function portText(p: PortMatch): string {
  return p.kind === 'named' ? p.name : p.min === p.max ? String(p.min) : `${p.min}:${p.max}`;
}

function portMatches(graph: PolicyGraph, list: readonly PortMatch[], entity: CompiledEntity, rule: CompiledRule, end: FlowEnd, flowProtocol: number): boolean {
  if (end.port === undefined) return false;
  for (const p of list) {
    if (p.kind === 'range') {
      if (end.port >= p.min && end.port <= p.max) return true;
    } else if (graph.namedPortContains(entity.namedPortSelector, rule.protocol, p.name, end.ip, flowProtocol, end.port)) return true;
  }
  return false;
}

function entityMatches(graph: PolicyGraph, e: CompiledEntity, rule: CompiledRule, end: FlowEnd, side: 'source' | 'destination', flowProtocol: number): RuleMatch {
  const addr = parseIP(end.ip);
  if (e.nets !== undefined && !e.nets.some((n) => n.family === addr.family && cidrContainsIP(n, addr))) {
    return NO(`${side} ${end.ip} is not in nets [${e.nets.map(formatCIDR).join(', ')}]`);
  }
  if (e.notNets !== undefined) {
    const hit = e.notNets.find((n) => n.family === addr.family && cidrContainsIP(n, addr));
    if (hit !== undefined) return NO(`${side} ${end.ip} is in notNets ${formatCIDR(hit)}`);
  }
  if (e.selector !== undefined && !graph.selectorContains(e.selector, end.ip)) return NO(`${side} ${end.ip} is not selected by ${e.selector.toString()}`);
  if (e.notSelector !== undefined && graph.selectorContains(e.notSelector, end.ip)) return NO(`${side} ${end.ip} is selected by notSelector ${e.notSelector.toString()}`);
  if (e.ports !== undefined && !portMatches(graph, e.ports, e, rule, end, flowProtocol)) {
    return NO(`${side} port ${end.port ?? '(none)'} is not in ports [${e.ports.map(portText).join(', ')}]`);
  }
  if (e.notPorts !== undefined && portMatches(graph, e.notPorts, e, rule, end, flowProtocol)) {
    return NO(`${side} port ${end.port} is in notPorts [${e.notPorts.map(portText).join(', ')}]`);
  }
  return YES;
}

export function ruleMatches(graph: PolicyGraph, rule: CompiledRule, flow: FlowPackets): RuleMatch {
  if (rule.refused !== undefined) return NO(rule.refused);
  const family = parseIP(flow.src.ip).family;
  if (rule.ipVersion !== undefined && rule.ipVersion !== family) return NO(`the flow is IPv${family}, the rule is for IPv${rule.ipVersion}`);
  if (rule.protocol !== undefined && rule.protocol !== flow.protocol) return NO(`protocol is ${protocolName(flow.protocol)}, the rule wants ${protocolName(rule.protocol)}`);
  if (rule.notProtocol !== undefined && rule.notProtocol === flow.protocol) return NO(`protocol ${protocolName(flow.protocol)} is the rule's notProtocol`);
  if (rule.icmp !== undefined) {
    if (rule.icmp.type !== undefined && rule.icmp.type !== flow.icmpType) return NO(`ICMP type ${flow.icmpType ?? '(none)'} is not ${rule.icmp.type}`);
    if (rule.icmp.code !== undefined && rule.icmp.code !== flow.icmpCode) return NO(`ICMP code ${flow.icmpCode ?? '(none)'} is not ${rule.icmp.code}`);
  }
  if (rule.notICMP !== undefined) {
    const typeHit = rule.notICMP.type === undefined || rule.notICMP.type === flow.icmpType;
    const codeHit = rule.notICMP.code === undefined || rule.notICMP.code === flow.icmpCode;
    if (typeHit && codeHit) return NO(`ICMP type ${flow.icmpType ?? '(none)'}${rule.notICMP.code === undefined ? '' : ` code ${flow.icmpCode ?? '(none)'}`} is excluded by notICMP`);
  }
  const src = entityMatches(graph, rule.source, rule, flow.src, 'source', flow.protocol);
  if (!src.matched) return src;
  return entityMatches(graph, rule.destination, rule, flow.dst, 'destination', flow.protocol);
}

export function rulesOf<T extends { ingress: readonly CompiledRule[]; egress: readonly CompiledRule[] }>(p: T, direction: Direction): readonly CompiledRule[] {
  return direction === 'ingress' ? p.ingress : p.egress;
}
