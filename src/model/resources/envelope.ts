// The envelope every resource shares: apiVersion, kind, metadata (with the kind's name rule),
// spec, and for some kinds status.
//
// `apiVersion` is already normalised (crd.projectcalico.org/v1 → projectcalico.org/v3) when the
// schema runs. A namespaced kind may leave metadata.namespace empty (the client fills it in, as
// calicoctl does with -n or "default"); a cluster-scoped kind must not have one.

import * as v from 'valibot';
import { ObjectMetaSchema } from '../meta.js';
import { checkDNS1123Label, checkDNS1123Subdomain } from '../names.js';
import { type RuleIssue, withRules, obj, opt } from '../schema-kit.js';

/** Checks a resource's name; returns a message, or undefined if the name is acceptable. */
export type NameRule = (name: string, resource: { spec?: unknown }) => { rule: string; message: string } | undefined;

export const subdomainName: NameRule = (name) => {
  const m = checkDNS1123Subdomain(name);
  return m === undefined ? undefined : { rule: 'name', message: m };
};

export interface EnvelopeOptions<Spec extends v.GenericSchema, Status extends v.GenericSchema | undefined> {
  readonly apiVersion: string;
  readonly namespaced: boolean;
  readonly spec: Spec;
  readonly status?: Status;
  readonly name?: NameRule;
  /** Rules across the whole resource (name against spec, and the like). */
  readonly rules?: (r: { metadata: { name?: string | undefined }; spec: v.InferOutput<Spec> }) => readonly RuleIssue[];
}

function envelopeRules(kind: string, namespaced: boolean, nameRule: NameRule) {
  return (r: { metadata: { name?: string | undefined; namespace?: string | undefined; generateName?: string | undefined }; spec?: unknown }): RuleIssue[] => {
    const issues: RuleIssue[] = [];
    const name = r.metadata.name;
    if (name === undefined || name === '') {
      issues.push({ path: ['metadata', 'name'], rule: 'required', message: `every ${kind} needs a metadata.name` });
    } else {
      const bad = nameRule(name, r);
      if (bad !== undefined) issues.push({ path: ['metadata', 'name'], ...bad });
    }
    const ns = r.metadata.namespace;
    if (namespaced && ns !== undefined && ns !== '') {
      const bad = checkDNS1123Label(ns, 'namespace');
      if (bad !== undefined) issues.push({ path: ['metadata', 'namespace'], rule: 'namespace', message: bad });
    }
    if (!namespaced && ns !== undefined && ns !== '') {
      issues.push({
        path: ['metadata', 'namespace'],
        rule: 'namespace-not-allowed',
        message: `${kind} is cluster-scoped; remove metadata.namespace ("${ns}")`,
      });
    }
    return issues;
  };
}

export function envelope<const K extends string, const A extends string, Spec extends v.GenericSchema>(
  kind: K,
  opts: EnvelopeOptions<Spec, undefined> & { apiVersion: A },
) {
  const shape = obj({
    apiVersion: v.literal(opts.apiVersion as A),
    kind: v.literal(kind),
    metadata: ObjectMetaSchema,
    spec: opt(opts.spec, {}),
  });
  const base = envelopeRules(kind, opts.namespaced, opts.name ?? subdomainName);
  const extra = opts.rules;
  return withRules(shape, (r: v.InferOutput<typeof shape>) => {
      const resource = r as unknown as Parameters<typeof base>[0] & Parameters<NonNullable<typeof extra>>[0];
      return [...base(resource), ...(extra === undefined ? [] : extra(resource))];
    });
}

export function envelopeWithStatus<const K extends string, const A extends string, Spec extends v.GenericSchema, Status extends v.GenericSchema>(
  kind: K,
  opts: EnvelopeOptions<Spec, Status> & { apiVersion: A; status: Status },
) {
  const shape = obj({
    apiVersion: v.literal(opts.apiVersion as A),
    kind: v.literal(kind),
    metadata: ObjectMetaSchema,
    spec: opt(opts.spec, {}),
    status: opt(opts.status),
  });
  const base = envelopeRules(kind, opts.namespaced, opts.name ?? subdomainName);
  const extra = opts.rules;
  return withRules(shape, (r: v.InferOutput<typeof shape>) => {
      const resource = r as unknown as Parameters<typeof base>[0] & Parameters<NonNullable<typeof extra>>[0];
      return [...base(resource), ...(extra === undefined ? [] : extra(resource))];
    });
}
