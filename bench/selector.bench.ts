// Selector evaluation throughput: 1,000 selectors × 10,000 endpoint label sets, the agent's
// hot path (every endpoint against every active selector). Measures Selector.matches (each
// selector compiled to its own generated function) against the anchor, a straightforward
// tree-walking interpreter (evaluateTree, the way Calico's Go AST nodes evaluate), in the same
// run on the same inputs, and checks that both agree on every one of the 10 million pairs.
//
// Inputs are generated deterministically (seeded PRNG) to look like a Kubernetes cluster:
// pods with orchestrator/namespace labels, app, tier, env, version and a few optional labels;
// selectors mixing ==, !=, in, not in, has, !has, &&, ||, ! and parentheses, many in the
// namespace-scoped shape Calico compiles NetworkPolicy selectors into.
// Prints one JSON line at the end (DESIGN.md §9).

import { evaluateTree, parseSelector, type LabelRecord, type Selector } from '../src/selector/index.js';
import { unitRandom as prng } from '../src/util/random.js';

const SELECTORS = 1_000;
const LABEL_SETS = 10_000;
const ROUNDS = 3; // timed passes per evaluator; the best is reported


const random = prng(0x5e1ec7);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const chance = (p: number): boolean => random() < p;

const NAMESPACES = Array.from({ length: 20 }, (_, i) => `ns-${i}`);
const APPS = Array.from({ length: 60 }, (_, i) => `app-${i}`);
const TIERS = ['frontend', 'backend', 'db', 'cache', 'queue'];
const ENVS = ['prod', 'staging', 'dev'];
const VERSIONS = ['v1', 'v2', 'v3', 'v4'];
const TEAMS = ['payments', 'search', 'identity', 'platform'];

function labelSet(): LabelRecord {
  const labels: Record<string, string> = {
    'projectcalico.org/orchestrator': 'k8s',
    'projectcalico.org/namespace': pick(NAMESPACES),
    app: pick(APPS),
    tier: pick(TIERS),
    env: pick(ENVS),
  };
  if (chance(0.8)) labels['version'] = pick(VERSIONS);
  if (chance(0.5)) labels['team'] = pick(TEAMS);
  if (chance(0.1)) labels['canary'] = 'true';
  if (chance(0.2)) labels['k8s-app'] = pick(APPS);
  if (chance(0.3)) labels['pod-template-hash'] = Math.floor(random() * 1e9).toString(16);
  return labels;
}

function someOf(values: readonly string[], max: number): string {
  const n = 1 + Math.floor(random() * max);
  return Array.from({ length: n }, () => `'${pick(values)}'`).join(', ');
}

function term(): string {
  const r = random();
  if (r < 0.3) return `app == '${pick(APPS)}'`;
  if (r < 0.45) return `tier in { ${someOf(TIERS, 3)} }`;
  if (r < 0.55) return `env != '${pick(ENVS)}'`;
  if (r < 0.63) return `has(${pick(['canary', 'team', 'version', 'k8s-app'])})`;
  if (r < 0.7) return `!has(${pick(['canary', 'team'])})`;
  if (r < 0.78) return `version not in { ${someOf(VERSIONS, 2)} }`;
  if (r < 0.85) return `team == '${pick(TEAMS)}'`;
  if (r < 0.9) return `!(tier == '${pick(TIERS)}' || env == '${pick(ENVS)}')`;
  if (r < 0.95) return `(app == '${pick(APPS)}' || app == '${pick(APPS)}')`;
  return `k8s-app in { ${someOf(APPS, 4)} }`;
}

function selectorText(): string {
  const terms = Array.from({ length: 1 + Math.floor(random() * 3) }, term);
  const body = terms.join(chance(0.75) ? ' && ' : ' || ');
  const shape = random();
  // Calico's shape for a namespaced NetworkPolicy and for a converted K8s NetworkPolicy.
  if (shape < 0.5) return `(${body}) && projectcalico.org/namespace == '${pick(NAMESPACES)}'`;
  if (shape < 0.7) return `projectcalico.org/orchestrator == 'k8s' && ${body}`;
  return body;
}

function main(): void {
  const texts = Array.from({ length: SELECTORS }, selectorText);
  const labelSets = Array.from({ length: LABEL_SETS }, labelSet);

  let t0 = performance.now();
  const selectors: Selector[] = texts.map((t) => parseSelector(t));
  const parseMs = performance.now() - t0;
  t0 = performance.now();
  for (const sel of selectors) sel.matches({}); // the first call compiles
  const compileMs = performance.now() - t0;

  // Correctness first (untimed): both evaluators agree on every pair.
  let matches = 0;
  for (const sel of selectors) {
    for (const labels of labelSets) {
      const compiled = sel.matches(labels);
      if (compiled !== evaluateTree(sel.tree, labels)) {
        throw new Error(`evaluators disagree on ${sel.toString()} with ${JSON.stringify(labels)}`);
      }
      if (compiled) matches++;
    }
  }

  const pairs = SELECTORS * LABEL_SETS;
  const time = (evaluate: (sel: Selector, labels: LabelRecord) => boolean): number => {
    let best = Infinity;
    for (let round = 0; round < ROUNDS; round++) {
      let count = 0;
      t0 = performance.now();
      for (const sel of selectors) for (const labels of labelSets) if (evaluate(sel, labels)) count++;
      const ms = performance.now() - t0;
      if (count !== matches) throw new Error(`round ${round} counted ${count} matches, expected ${matches}`);
      best = Math.min(best, ms);
    }
    return pairs / (best / 1000);
  };
  const compiledRate = time((sel, labels) => sel.matches(labels));
  const interpretedRate = time((sel, labels) => evaluateTree(sel.tree, labels));

  console.log(`parsed ${SELECTORS} selectors in ${parseMs.toFixed(1)} ms, compiled them in ${compileMs.toFixed(1)} ms; ${pairs.toLocaleString('en')} pairs, ${matches.toLocaleString('en')} matches (${((100 * matches) / pairs).toFixed(1)}%), evaluators agree on all`);
  console.log(`compiled (generated code): ${(compiledRate / 1e6).toFixed(1)} M evaluations/s`);
  console.log(`tree-walking interpreter:  ${(interpretedRate / 1e6).toFixed(1)} M evaluations/s`);
  console.log(
    JSON.stringify({
      bench: 'selector',
      metric: 'selector evaluations per second (1,000 selectors x 10,000 label sets)',
      value: Math.round(compiledRate),
      unit: 'evaluations/s',
      anchor: 'tree-walking interpreter (evaluateTree)',
      anchorValue: Math.round(interpretedRate),
      ratio: Number((compiledRate / interpretedRate).toFixed(2)),
    }),
  );
}

main();
