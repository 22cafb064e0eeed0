// The policy engine (DESIGN.md §6): Calico and Kubernetes network policy compiled into an IR, a
// pure incremental calculation graph (typed resource updates in; per-endpoint tier/policy plans,
// selector and named-port IP set deltas out), and the flow evaluator behind `tabbyctl policy
// matrix` and `policy explain`. Pure: no I/O, clocks or randomness.

export type { ResourceUpdate, PolicyInputKind } from './input.js';
export { POLICY_INPUT_KINDS, inputKind, updateFor, deletionOf, keyOf, updateFromDatastore } from './input.js';
export type { CompiledPolicy, CompiledProfile, CompiledRule, CompiledEntity, CompiledTier, EndpointIR, NamedPort, PortMatch, Action, Direction } from './ir.js';
export { PolicyGraph, type GraphOptions, type NamedPortSetInfo } from './graph.js';
export type { GraphEvent } from './events.js';
export { type EndpointPlan, type TierPlan, type Stage, STAGES } from './plan.js';
export { ALL_INTERFACES, WORKLOAD_INTERFACE_PREFIX, isAllInterfaces, resolveHostInterfaces, type HostInterfaceResolution } from './host-endpoints.js';
export { type FailsafePort, type FailsafePorts, DEFAULT_FAILSAFE } from './failsafe.js';
export { type OverlayAllow, type OverlayInputs, DEFAULT_VXLAN_PORT, overlayAllowOf, sameOverlay, nodeAddresses } from './overlay.js';
export { evaluateFlow, type Flow, type FlowPeer, type FlowVerdict, type StageVerdict, type StagedVerdict, type Decision, type PolicyTrace, type TierTrace } from './evaluate.js';
export { computeMatrix, matrixPods, cellVerdict, renderMatrixWide, MatrixError, type Matrix, type MatrixPod, type MatrixQuery } from './matrix.js';
export { renderExplainText, describeDecision } from './explain-text.js';
export { graphFromResources, resolvePeerWord, resolveHostEndpointWord, resolveDnatWord, PeerError, type LoadedGraph } from './resources.js';
export { protocolName } from './match.js';
export { PolicyCompileError } from './compile-rules.js';
export { comparePolicies } from './compile-policies.js';
