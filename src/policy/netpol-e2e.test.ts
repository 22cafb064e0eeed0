// The upstream Kubernetes netpol e2e cases (testdata/netpol-e2e.ts) through the engine behind
// `tabbyctl policy matrix`: every step's policy, label and namespace updates go into one graph
// incrementally, and every probe's matrix must equal the upstream truth table cell for cell
// (loopback cells excepted, as upstream). Each probe is also recomputed from scratch on the
// step's final resources, so the incremental graph is checked against a fresh one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ResourceObject, validateResource } from '../model/index.js';
import { PolicyGraph, computeMatrix, deletionOf, graphFromResources, keyOf, updateFor } from './index.js';
import { NETPOL_CASES, expectedReachability, fixtureNamespace, fixturePod } from './testdata/netpol-e2e.js';

const PROTOCOLS = { TCP: 6, UDP: 17, SCTP: 132 } as const;
const valid = (doc: Record<string, unknown>): ResourceObject => validateResource(doc);

function diff(pods: readonly string[], got: readonly (readonly boolean[])[], want: boolean[][]): string[] {
  const out: string[] = [];
  pods.forEach((from, i) =>
    pods.forEach((to, j) => {
      if (i !== j && got[i]![j] !== want[i]![j]) out.push(`${from} → ${to}: got ${got[i]![j] ? 'allow' : 'deny'}, want ${want[i]![j] ? 'allow' : 'deny'}`);
    }),
  );
  return out;
}

describe('Kubernetes netpol e2e cases through policy matrix', () => {
  it(`encodes ${NETPOL_CASES.length} upstream cases`, () => {
    assert.ok(NETPOL_CASES.length >= 40);
  });
  for (const c of NETPOL_CASES) {
    it(c.name, () => {
      const graph = new PolicyGraph();
      const live = new Map<string, ResourceObject>();
      const put = (r: ResourceObject) => {
        live.set(`${r.apiVersion}/${r.kind}/${keyOf(r)}`, r);
        graph.apply([updateFor(r)]);
      };
      for (const ns of ['x', 'y', 'z']) put(valid(fixtureNamespace(ns)));
      for (const p of c.pods) put(valid(fixturePod(p)));
      c.steps.forEach((step, s) => {
        if (step.deleteAllPolicies) {
          for (const [k, r] of [...live]) {
            if (r.kind !== 'NetworkPolicy') continue;
            live.delete(k);
            graph.apply([deletionOf('NetworkPolicy', keyOf(r), r.apiVersion)]);
          }
        }
        for (const doc of step.create ?? []) put(valid(doc));
        if (step.podLabels) put(valid(fixturePod(step.podLabels.pod, step.podLabels.labels)));
        if (step.namespaceLabels) put(valid(fixtureNamespace(step.namespaceLabels.ns, step.namespaceLabels.labels)));
        const fresh = graphFromResources([...live.values()]).graph;
        for (const probe of step.probes) {
          const q = { protocol: PROTOCOLS[probe.protocol], port: probe.port };
          const m = computeMatrix(graph, q);
          assert.deepEqual(m.pods, [...c.pods].sort());
          const want = expectedReachability(m.pods, probe.expect);
          assert.deepEqual(diff(m.pods, m.matrix, want), [], `step ${s + 1}, ${probe.protocol}/${probe.port}`);
          assert.deepEqual(computeMatrix(fresh, q).matrix, m.matrix, `step ${s + 1}: incremental and from-scratch graphs differ`);
        }
      });
    });
  }
});
