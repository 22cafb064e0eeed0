// What the Kubernetes → Calico conversions share: the labels Calico adds, the UID derivation,
// and the error they raise.

import { derivedUID } from './names.js';

export const LABEL_NAMESPACE = 'projectcalico.org/namespace';
export const LABEL_ORCHESTRATOR = 'projectcalico.org/orchestrator';
export const LABEL_SERVICE_ACCOUNT = 'projectcalico.org/serviceaccount';
export const NAMESPACE_LABEL_PREFIX = 'pcns.';
export const SERVICE_ACCOUNT_LABEL_PREFIX = 'pcsa.';
export const NAME_LABEL = 'projectcalico.org/name';
export const K8S_POLICY_ORDER = 1000;

export class ConversionError extends Error {
  override readonly name = 'ConversionError';
  readonly code = 'ConversionFailed';
}

export function uidOf(uid: string | undefined): { uid: string } | Record<string, never> {
  if (uid === undefined || uid === '') return {};
  try {
    return { uid: derivedUID(uid) };
  } catch {
    return {};
  }
}

