// `tabbyctl policy explain` as text a person reads at a glance: the verdict and who decided on
// the first lines, then each stage with the tiers and policies consulted and why each one did
// not decide, then the staged policies' what-if verdicts.

import type { Decision, FlowVerdict, PolicyTrace, StageVerdict } from './evaluate.js';

function peer(p: FlowVerdict['flow']['src']): string {
  return p.endpoint === undefined ? `${p.ip} (not a Calico endpoint)` : `${p.name ?? p.endpoint} (${p.ip})`;
}

export function describeDecision(d: Decision): string {
  switch (d.by) {
    case 'rule':
      return `tier ${d.tier}, policy ${d.policy}, rule ${d.rule} (${d.action}): ${JSON.stringify(d.ruleText)}`;
    case 'end-of-tier':
      return `end of tier ${d.tier}: a policy of the tier selects the endpoint and none allowed the flow (default action Deny)`;
    case 'profile':
      return `profile ${d.profile}, rule ${d.rule} (${d.action}): ${JSON.stringify(d.ruleText)}`;
    case 'missing-profile':
      return `profile ${d.profile} does not exist (a missing profile denies, failing closed)`;
    case 'no-profile-allowed':
      return 'no policy and no profile allowed the flow';
    case 'failsafe':
      return `failsafe port ${d.protocol}:${d.port} (always open on host endpoints)`;
    case 'overlay':
      return d.peer ? `VXLAN (UDP ${d.port}) between nodes, accepted ahead of host endpoint policy` : `VXLAN (UDP ${d.port}) from a pod, or to a node from an address that is no other node's (dropped ahead of policy)`;
    case 'neighbour-discovery':
      return `IPv6 neighbour discovery / MLD (ICMPv6 type ${d.icmpType}), accepted ahead of host endpoint policy`;
    case 'no-policy':
      return 'no policy applies';
  }
}

function policyLine(p: PolicyTrace): string[] {
  const out: string[] = [];
  const logged = p.logged.length > 0 ? ` (logged by rule${p.logged.length > 1 ? 's' : ''} ${p.logged.join(', ')})` : '';
  if (p.outcome === 'no-match') out.push(`    - ${p.policy}: no rule matched${logged}`);
  else out.push(`    - ${p.policy}: rule ${p.rule} → ${p.outcome}${logged}`);
  for (const m of p.misses) out.push(`        rule ${m.rule}: ${m.reason}`);
  if (p.outcome === 'no-match' && p.misses.length === 0) out.push('        (no rules in this direction)');
  return out;
}

function stageLines(s: StageVerdict): string[] {
  const out = [`  ${s.stage} of ${s.endpointName}: ${s.result.toUpperCase()} — ${describeDecision(s.decision)}`];
  for (const t of s.tiers) {
    out.push(`    tier ${t.tier} (default ${t.defaultAction}): ${t.outcome}`);
    for (const p of t.policies) out.push(...policyLine(p).map((l) => `  ${l}`));
  }
  return out;
}

export function renderExplainText(v: FlowVerdict): string {
  const f = v.flow;
  const lines: string[] = [];
  const dnat = f.dnat === undefined ? '' : ` (DNAT to ${f.dnat.ip}${f.dnat.port === undefined ? '' : `:${f.dnat.port}`})`;
  const through = [f.viaHostEndpoint === undefined ? '' : `arriving through ${f.viaHostEndpoint}`, f.leavesHostEndpoint === undefined ? '' : `leaving by ${f.leavesHostEndpoint}`].filter((x) => x !== '');
  const fwd = through.length === 0 ? '' : ` (forwarded, ${through.join(', ')})`;
  lines.push(`${v.allowed ? 'ALLOWED' : 'DENIED'}: ${peer(f.src)} → ${peer(f.dst)} ${f.protocol}${f.dst.port === undefined ? '' : `/${f.dst.port}`}${dnat}${fwd}`);
  lines.push(v.decidedBy === undefined ? 'decided by: no policy applies on either side' : `decided by: ${v.decidedBy.stage} of ${v.decidedBy.endpointName}: ${describeDecision(v.decidedBy.decision)}`);
  lines.push('');
  if (v.stages.length === 0) lines.push('  no stage applies (neither address is a Calico workload or host endpoint)');
  for (const s of v.stages) lines.push(...stageLines(s));
  if (v.staged.length > 0) {
    lines.push('', 'staged policies (reported, never enforced):');
    for (const s of v.staged) {
      lines.push(`  ${s.policy} (${s.stagedAction}): would ${s.allowed ? 'ALLOW' : 'DENY'}${s.changes ? ' — changes the verdict' : ' — same verdict'}${s.decision === undefined ? '' : ` (${describeDecision(s.decision)})`}`);
    }
  }
  return lines.join('\n') + '\n';
}
