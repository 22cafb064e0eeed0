// Calico's selector language: parse, canonicalise, identify and evaluate label selectors, and
// convert Kubernetes LabelSelectors into it. Pure: no I/O (node:crypto only for SHA-224).

export { Selector, parseSelector, checkSelector, type SelectorCheck } from './selector.js';
export { SelectorParseError, type SelectorProblem } from './errors.js';
export type { SelectorNode, ValueOp, SetOp } from './ast.js';
export type { Labels, LabelRecord, LabelMap } from './labels.js';
export { labelValue } from './labels.js';
export { possibleToSatisfy, type LabelRestriction, type LabelRestrictions } from './restrictions.js';
export { isValidLabel, MAX_LABEL_LENGTH } from './tokenizer.js';
export { evaluateTree } from './interpret.js';
export {
  k8sLabelSelectorToCalico,
  K8sLabelSelectorError,
  K8S_ORCHESTRATOR_TERM,
  type K8sLabelSelector,
  type K8sLabelSelectorRequirement,
  type K8sSelectorType,
} from './k8s.js';
export { selectorFromLabelFlag } from './kubectl-text.js';
