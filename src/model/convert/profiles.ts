// Namespace → Profile kns.<ns> and ServiceAccount → Profile ksa.<ns>.<sa>, as Calico's
// Kubernetes datastore synthesises them (calico-internals §2.2):
// - kns.<ns>: labelsToApply pcns.<k>=<v> (with the API server's kubernetes.io/metadata.name)
//   plus pcns.projectcalico.org/name=<ns>, one Allow rule
//   each way (namespaces are default-allow until a policy selects the pod);
// - ksa.<ns>.<sa>: labelsToApply pcsa.<k>=<v> plus pcsa.projectcalico.org/name=<sa>, no rules.
// The Profile's UID is derived from the Namespace's (Calico's ConvertUID).

import { CALICO_API_VERSION } from '../kinds.js';
import type { Namespace } from '../resources/k8s.js';
import type { Profile } from '../resources/policies.js';
import { ConversionError, NAME_LABEL, NAMESPACE_LABEL_PREFIX, SERVICE_ACCOUNT_LABEL_PREFIX, uidOf } from './common.js';
import { namespaceProfileName, serviceAccountProfileName } from './names.js';

export const K8S_NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export function namespaceToProfile(ns: Namespace): Profile {
  const name = ns.metadata.name ?? '';
  if (name === '') throw new ConversionError('a Namespace without a name cannot be converted to a Profile');
  const labelsToApply: Record<string, string> = {};
  // Kubernetes' API server labels every namespace kubernetes.io/metadata.name=<name> (immutable);
  // Tabby stands in for the API server, so a manifest without it still gets it.
  const labels = { [K8S_NAMESPACE_NAME_LABEL]: name, ...(ns.metadata.labels ?? {}) };
  for (const [k, val] of Object.entries(labels)) labelsToApply[NAMESPACE_LABEL_PREFIX + k] = val;
  labelsToApply[NAMESPACE_LABEL_PREFIX + NAME_LABEL] = name;
  return {
    apiVersion: CALICO_API_VERSION,
    kind: 'Profile',
    metadata: {
      name: namespaceProfileName(name),
      ...uidOf(ns.metadata.uid),
      ...(ns.metadata.creationTimestamp ? { creationTimestamp: ns.metadata.creationTimestamp } : {}),
    },
    spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }], labelsToApply },
  };
}

/** The Profile for a service account: labels pcsa.<k>=<v> and pcsa.projectcalico.org/name, no rules. */
export function serviceAccountToProfile(sa: { metadata: { name?: string | undefined; namespace?: string | undefined; labels?: Record<string, string> | undefined } }): Profile {
  const name = sa.metadata.name ?? '';
  if (name === '') throw new ConversionError('a ServiceAccount without a name cannot be converted to a Profile');
  const labelsToApply: Record<string, string> = {};
  for (const [k, val] of Object.entries(sa.metadata.labels ?? {})) labelsToApply[SERVICE_ACCOUNT_LABEL_PREFIX + k] = val;
  labelsToApply[SERVICE_ACCOUNT_LABEL_PREFIX + NAME_LABEL] = name;
  return {
    apiVersion: CALICO_API_VERSION,
    kind: 'Profile',
    metadata: { name: serviceAccountProfileName(sa.metadata.namespace ?? 'default', name) },
    spec: { labelsToApply },
  };
}

