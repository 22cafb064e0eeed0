// ObjectMeta (Kubernetes metav1.ObjectMeta, which every Calico v3 resource embeds).
//
// Strict like the rest: a misspelt metadata field is an error, not silently dropped. Label keys
// and values follow Kubernetes' rules, which Calico's validator applies too. The name rule
// differs per kind and is applied by the resource schema, not here.

import * as v from 'valibot';
import { checkLabelKey, checkLabelValue } from './names.js';
import { type RuleIssue, bool, check, withRules, int, list, obj, opt, str, strMap } from './schema-kit.js';

const OwnerReference = obj({
  apiVersion: str(),
  kind: str(),
  name: str(),
  uid: str(),
  controller: opt(bool()),
  blockOwnerDeletion: opt(bool()),
});

const Labels = withRules(strMap(), (labels: Record<string, string>) => {
    const issues: RuleIssue[] = [];
    for (const [k, val] of Object.entries(labels)) {
      const bad = checkLabelKey(k) ?? checkLabelValue(val);
      if (bad !== undefined) issues.push({ path: [k], rule: 'label', message: bad });
    }
    return issues;
  });

export const ObjectMetaSchema = obj({
  name: opt(str()),
  generateName: opt(str()),
  namespace: opt(str()),
  selfLink: opt(str()),
  uid: opt(str()),
  resourceVersion: opt(str()),
  generation: opt(int(0, Number.MAX_SAFE_INTEGER)),
  creationTimestamp: opt(v.nullable(str())),
  deletionTimestamp: opt(v.nullable(str())),
  deletionGracePeriodSeconds: opt(int(0, Number.MAX_SAFE_INTEGER)),
  labels: opt(Labels),
  annotations: opt(
    v.pipe(
      strMap(),
      check('annotations-size', (a: Record<string, string>) => {
        const size = Object.entries(a).reduce((n, [k, val]) => n + k.length + val.length, 0);
        return size <= 256 * 1024 ? undefined : `annotations total ${size} bytes; at most 262144 are allowed`;
      }),
    ),
  ),
  ownerReferences: opt(list(OwnerReference)),
  finalizers: opt(list(str())),
  managedFields: opt(list(v.unknown())),
});

export type ObjectMeta = v.InferOutput<typeof ObjectMetaSchema>;
