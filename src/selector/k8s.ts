// Kubernetes LabelSelector → Calico selector text, character for character as Calico writes it
// when it converts a Kubernetes NetworkPolicy (calico-internals.md §2.3; libcalico-go
// conversion.go k8sSelectorToCalico), so converted policies compare equal to Calico's.
//
// - Pod selectors always start with `projectcalico.org/orchestrator == 'k8s'`; an absent or
//   empty pod selector is just that term.
// - Namespace selectors get no prefix: absent → "" (no namespace selector at all), present but
//   empty → "all()" (every namespace).
// - matchLabels in byte order of key, each `k == 'v'`; then matchExpressions in their order:
//   In → `k in { 'a', 'b' }`, NotIn → `k not in { 'a', 'b' }`, Exists → `has(k)`,
//   DoesNotExist → `! has(k)`. Terms are joined with ` && `.
// The text is not canonical (Calico stores it as written); parse it for canonical form or ID.
// Unlike Calico, an unknown operator is an error rather than a silently dropped term: dropping
// a term would select more pods than the user asked for.

import { compareCodePoints } from './ast.js';

export interface K8sLabelSelectorRequirement {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[] | null;
}

export interface K8sLabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>> | null;
  readonly matchExpressions?: readonly K8sLabelSelectorRequirement[] | null;
}

export type K8sSelectorType = 'pod' | 'namespace';

export class K8sLabelSelectorError extends Error {
  override readonly name = 'K8sLabelSelectorError';
  readonly code = 'InvalidLabelSelector';
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`invalid Kubernetes label selector at ${field}: ${detail}`);
  }
}

export const K8S_ORCHESTRATOR_TERM = "projectcalico.org/orchestrator == 'k8s'";

export function k8sLabelSelectorToCalico(
  selector: K8sLabelSelector | null | undefined,
  options: { readonly selectorType: K8sSelectorType },
): string {
  const terms: string[] = options.selectorType === 'pod' ? [K8S_ORCHESTRATOR_TERM] : [];
  if (selector === null || selector === undefined) return terms.join(' && ');

  const labels = selector.matchLabels ?? {};
  const expressions = selector.matchExpressions ?? [];
  const keys = Object.keys(labels);
  if (options.selectorType === 'namespace' && keys.length === 0 && expressions.length === 0) return 'all()';

  for (const key of keys.sort(compareCodePoints)) terms.push(`${key} == '${labels[key]}'`);

  expressions.forEach((e, i) => {
    const values = (e.values ?? []).join("', '");
    switch (e.operator) {
      case 'In':
        terms.push(`${e.key} in { '${values}' }`);
        break;
      case 'NotIn':
        terms.push(`${e.key} not in { '${values}' }`);
        break;
      case 'Exists':
        terms.push(`has(${e.key})`);
        break;
      case 'DoesNotExist':
        terms.push(`! has(${e.key})`);
        break;
      default:
        throw new K8sLabelSelectorError(
          `matchExpressions[${i}].operator`,
          `unknown operator ${JSON.stringify(e.operator)}; expected In, NotIn, Exists or DoesNotExist`,
        );
    }
  });
  return terms.join(' && ');
}
