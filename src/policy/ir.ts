// The policy engine's intermediate representation: Calico policies, profiles and endpoints after
// compilation, in the form both the calculation graph and the flow evaluator consume.
//
// Invariants:
// - Every selector here is a parsed Selector whose text is the one Calico's update processors
//   would produce (namespace scoping, pcns./pcsa. prefixes), so equal canonical text means the
//   same IP set in Tabby and in Calico.
// - Policy IDs are Calico's `PolicyID.ID()` shapes: `<kind-short>/<ns>/<name>` or
//   `<kind-short>/<name>` (np, gnp, snp, sgnp, sknp, knp); profiles are `pro/<name>`.
// - Protocols are numbers (TCP 6, UDP 17, ICMP 1, ICMPv6 58, SCTP 132, ...).

import type { CIDR } from '../ip/index.js';
import type { LabelRecord, Selector } from '../selector/index.js';

export type Action = 'Allow' | 'Deny' | 'Pass' | 'Log';
export type Direction = 'ingress' | 'egress';

/** A numeric range or a named port (resolved against the endpoint that owns the address). */
export type PortMatch = { readonly kind: 'range'; readonly min: number; readonly max: number } | { readonly kind: 'named'; readonly name: string };

export interface CompiledEntity {
  readonly nets?: readonly CIDR[];
  readonly notNets?: readonly CIDR[];
  /** Positive selector: the rule's selector, namespace scoping and service accounts, ANDed. */
  readonly selector?: Selector;
  readonly notSelector?: Selector;
  readonly ports?: readonly PortMatch[];
  readonly notPorts?: readonly PortMatch[];
  /** The selector named ports are resolved through (the positive selector, or all()). */
  readonly namedPortSelector: Selector;
  /** Kubernetes Services in a rule: recognised, not matched here (no service index yet). */
  readonly services?: { readonly name: string; readonly namespace: string };
}

export interface CompiledRule {
  /** Position in the policy's ingress or egress list, from 0 (Calico's rule index). */
  readonly index: number;
  readonly action: Action;
  readonly ipVersion?: 4 | 6;
  readonly protocol?: number;
  readonly notProtocol?: number;
  readonly icmp?: { readonly type?: number; readonly code?: number };
  readonly notICMP?: { readonly type?: number; readonly code?: number };
  readonly source: CompiledEntity;
  readonly destination: CompiledEntity;
  /** Why this rule can never match, when Tabby refuses part of it (an L7 `http` match). */
  readonly refused?: string;
  /** The rule as the user wrote it, for explain. */
  readonly original: unknown;
}

export type PolicyKindShort = 'np' | 'gnp' | 'snp' | 'sgnp' | 'sknp' | 'knp';

export interface CompiledPolicy {
  readonly id: string;
  readonly kindShort: PolicyKindShort;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  readonly tier: string;
  /** undefined = +∞ (applied last). */
  readonly order?: number;
  readonly staged: boolean;
  /** For staged policies: Set (what-if enforced) or Delete (what-if the enforced one were gone). */
  readonly stagedAction?: 'Set' | 'Delete' | 'Learn' | 'Ignore';
  /** The enforced policy a staged one shadows (same tier/name/namespace, enforced kind). */
  readonly shadows?: string;
  /** Which endpoints the policy applies to. */
  readonly selector: Selector;
  readonly types: readonly Direction[];
  readonly ingress: readonly CompiledRule[];
  readonly egress: readonly CompiledRule[];
  readonly preDNAT: boolean;
  readonly doNotTrack: boolean;
  readonly applyOnForward: boolean;
  /** Problems found compiling (refused http matches, unsupported fields). */
  readonly problems: readonly string[];
}

export interface CompiledProfile {
  readonly id: string;
  readonly name: string;
  readonly labelsToApply: LabelRecord;
  readonly ingress: readonly CompiledRule[];
  readonly egress: readonly CompiledRule[];
}

export interface CompiledTier {
  readonly name: string;
  readonly order?: number;
  readonly defaultAction: 'Deny' | 'Pass';
}

export interface NamedPort {
  readonly name: string;
  readonly protocol: number;
  readonly port: number;
}

export type EndpointKind = 'workload' | 'host' | 'networkset';

/** Anything a selector can select: a workload, a host endpoint, or a (global) network set. */
export interface EndpointIR {
  readonly id: string;
  readonly kind: EndpointKind;
  readonly name: string;
  readonly namespace?: string;
  readonly node?: string;
  /** The endpoint's own labels (profile labels are merged in by the graph). */
  readonly labels: LabelRecord;
  readonly profiles: readonly string[];
  /** /32 and /128 for endpoints; any CIDR for network sets. Canonical text. */
  readonly nets: readonly string[];
  readonly ports: readonly NamedPort[];
  /** Kubernetes pod name (workloads from pods), for `ns/pod` lookups. */
  readonly pod?: string;
  readonly interfaceName?: string;
}
