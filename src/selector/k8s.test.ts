// Tabby's own K8s LabelSelector conversion cases (Calico's are in calico-tables.test.ts): the
// converted text must select exactly what Kubernetes' LabelSelector semantics select.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { K8sLabelSelectorError, k8sLabelSelectorToCalico, type K8sLabelSelector } from './k8s.js';
import { parseSelector } from './selector.js';

/** Kubernetes' meaning of a LabelSelector (apimachinery labels.Requirement.Matches). */
function k8sMatches(sel: K8sLabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key]!);
    const ok = e.operator === 'In' ? inValues : e.operator === 'NotIn' ? !inValues : e.operator === 'Exists' ? has : !has;
    if (!ok) return false;
  }
  return true;
}

describe('k8sLabelSelectorToCalico', () => {
  it('sorts matchLabels keys in byte order and keeps matchExpressions in their order', () => {
    const text = k8sLabelSelectorToCalico(
      {
        matchLabels: { zone: 'b', 'app.kubernetes.io/name': 'web', App: 'x' },
        matchExpressions: [
          { key: 'tier', operator: 'NotIn', values: ['db'] },
          { key: 'env', operator: 'Exists' },
        ],
      },
      { selectorType: 'namespace' },
    );
    assert.equal(text, "App == 'x' && app.kubernetes.io/name == 'web' && zone == 'b' && tier not in { 'db' } && has(env)");
  });

  it('selects exactly what Kubernetes selects, for pods carrying the orchestrator label', () => {
    const sel: K8sLabelSelector = {
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['front', 'edge'] },
        { key: 'canary', operator: 'DoesNotExist' },
        { key: 'env', operator: 'NotIn', values: ['prod'] },
      ],
    };
    const calico = parseSelector(k8sLabelSelectorToCalico(sel, { selectorType: 'pod' }));
    const values = { app: ['web', 'api'], tier: ['front', 'edge', 'db'], canary: ['yes'], env: ['prod', 'dev'] };
    const keys = Object.keys(values) as (keyof typeof values)[];
    // Every combination of each key absent or holding one of its values.
    let combos: Record<string, string>[] = [{}];
    for (const key of keys) combos = combos.flatMap((c) => [c, ...values[key].map((v) => ({ ...c, [key]: v }))]);
    let matched = 0;
    for (const labels of combos) {
      const pod = { ...labels, 'projectcalico.org/orchestrator': 'k8s' };
      assert.equal(calico.matches(pod), k8sMatches(sel, labels), JSON.stringify(labels));
      assert.equal(calico.matches(labels), false, 'a non-Kubernetes endpoint never matches a pod selector');
      if (k8sMatches(sel, labels)) matched++;
    }
    assert.ok(matched > 0 && matched < combos.length);
  });

  it('treats null and undefined fields like absent ones', () => {
    assert.equal(k8sLabelSelectorToCalico({ matchLabels: null, matchExpressions: null }, { selectorType: 'namespace' }), 'all()');
    assert.equal(k8sLabelSelectorToCalico(undefined, { selectorType: 'namespace' }), '');
    assert.equal(
      k8sLabelSelectorToCalico({ matchExpressions: [{ key: 'a', operator: 'Exists', values: null }] }, { selectorType: 'pod' }),
      "projectcalico.org/orchestrator == 'k8s' && has(a)",
    );
  });

  it('rejects an unknown operator, naming the field, instead of dropping the term', () => {
    assert.throws(
      () => k8sLabelSelectorToCalico({ matchExpressions: [{ key: 'a', operator: 'Exists' }, { key: 'b', operator: 'in', values: ['x'] }] }, { selectorType: 'pod' }),
      (err: unknown) =>
        err instanceof K8sLabelSelectorError &&
        err.code === 'InvalidLabelSelector' &&
        err.field === 'matchExpressions[1].operator' &&
        /unknown operator "in"; expected In, NotIn, Exists or DoesNotExist/.test(err.message),
    );
  });
});
