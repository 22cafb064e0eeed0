// Which schema, defaults and normalisation belong to each kind.
//
// Every entry of KINDS has a model here; a test checks that none is missing.

import type * as v from 'valibot';
import type { DefaultRule } from './defaults.js';
import { KINDS, type KindInfo } from './kinds.js';
import { IPPoolSchema, ipPoolDefaults, normaliseIPPool } from './resources/ippool.js';

export interface KindModel {
  readonly schema: v.GenericSchema;
  readonly defaults: readonly DefaultRule<any>[];
  /** Canonical forms Calico writes (e.g. an IPPool CIDR's text); applied after validation. */
  readonly normalise?: (r: any) => any;
}

const byKind = new Map<string, KindModel>([
  ['projectcalico.org/v3/IPPool', { schema: IPPoolSchema, defaults: ipPoolDefaults, normalise: normaliseIPPool }],
]);

export function modelOf(kind: KindInfo): KindModel | undefined {
  return byKind.get(`${kind.apiVersion}/${kind.kind}`);
}

/** Kinds without a model (must be empty once the model is complete). */
export function kindsWithoutModel(): string[] {
  return KINDS.filter((k) => modelOf(k) === undefined).map((k) => `${k.apiVersion} ${k.kind}`);
}
