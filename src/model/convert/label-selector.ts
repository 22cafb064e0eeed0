// Kubernetes LabelSelector → Calico selector text, in the exact form Calico writes
// (libcalico-go conversion k8sSelectorToCalico), since converted policies are compared and
// stored as text:
//   matchLabels (sorted by key)   k == 'v'
//   In / NotIn                    k in { 'a', 'b' } / k not in { 'a', 'b' }
//   Exists / DoesNotExist         has(k) / ! has(k)
// joined with " && ". A pod selector is prefixed with projectcalico.org/orchestrator == 'k8s';
// an empty namespace selector means every namespace: all(); an absent one is "".

export interface LabelSelectorInput {
  readonly matchLabels?: Readonly<Record<string, string>> | undefined;
  readonly matchExpressions?: readonly { readonly key: string; readonly operator: string; readonly values?: readonly string[] | undefined }[] | undefined;
}

export type SelectorRole = 'pod' | 'namespace';

export const ORCHESTRATOR_LABEL = 'projectcalico.org/orchestrator';

export function labelSelectorToCalico(s: LabelSelectorInput | undefined, role: SelectorRole): string {
  const terms: string[] = role === 'pod' ? [`${ORCHESTRATOR_LABEL} == 'k8s'`] : [];
  if (s === undefined) return terms.join(' && ');
  const labels = s.matchLabels ?? {};
  const exprs = s.matchExpressions ?? [];
  if (role === 'namespace' && Object.keys(labels).length === 0 && exprs.length === 0) return 'all()';
  for (const k of Object.keys(labels).sort()) terms.push(`${k} == '${labels[k]}'`);
  for (const e of exprs) {
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
    }
  }
  return terms.join(' && ');
}
