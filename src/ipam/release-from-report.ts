// `tabbyctl ipam release --from-report FILE [--from-report FILE2 ...] [--force]`: release the
// leaked addresses and handles an `ipam check -o FILE` report lists (calico-internals.md §4.6),
// with calicoctl's safeguards:
//   - the report must be of this cluster (clusterGUID; not even --force overrides that) and of
//     this version of tabbyctl (unless --force);
//   - at least one report must be current: taken at ClusterInformation `default`'s present
//     revision, so a report from before the datastore was last locked or unlocked is refused;
//   - the datastore must be locked (datastoreReady false), unless --force;
//   - only addresses every report saw unused, with the same handle and sequence number, and each
//     released with those as guards: an address released and handed out again since the report
//     carries a new sequence number and is left alone. Tabby also skips any address a
//     WorkloadEndpoint lists now.
//   - a leaked handle record is deleted only at the revision the report saw.
// The parsing and merging are pure (core/check-report.ts); this file reads, checks and writes,
// and tabbyctl prints what it did (ctl/ipam-text.ts).

import type { Datastore } from '../datastore/index.js';
import { isDatastoreError } from '../datastore/index.js';
import { parseIP } from '../ip/index.js';
import { handleKey } from '../model/index.js';
import { BlockAllocator } from './allocator.js';
import { type ParsedReport, mergeReports } from './core/check-report.js';
import { LOCK_HINT } from './core/cluster-info.js';
import { addressInfo } from './core/show.js';
import { endpointsByIp } from './core/usage.js';
import { IpamOperationError, REPORT_VERSION, readClusterMeta } from './operations.js';
import { IpamStore } from './store.js';

export interface ReportReleaseResult {
  readonly released: string[];
  /** Listed as leaked but no longer allocated (released meanwhile). */
  readonly alreadyReleased: string[];
  /** Allocated again since the report (another sequence number or handle), or in use now: left alone. */
  readonly changed: string[];
  readonly handlesDeleted: string[];
  /** Leaked handles that changed or vanished since the report: left alone. */
  readonly handlesSkipped: string[];
  readonly warnings: string[];
}

export async function releaseFromReports(ds: Datastore, reports: readonly ParsedReport[], force: boolean): Promise<ReportReleaseResult> {
  if (reports.length === 0) throw new IpamOperationError('Invalid', 'give at least one --from-report FILE');
  const cluster = await readClusterMeta(ds);
  if (!cluster.exists) throw new IpamOperationError('NotFound', 'ClusterInformation default does not exist in this datastore, so no report can be matched to it; nothing released');
  const warnings: string[] = [];
  for (const r of reports) {
    if (r.clusterGUID !== cluster.clusterGUID) {
      throw new IpamOperationError('Invalid', `report ${r.file} is of cluster ${r.clusterGUID || '(none)'}, this datastore is cluster ${cluster.clusterGUID}; refusing to release (--force does not override this)`);
    }
    if (r.version !== REPORT_VERSION) {
      if (!force) throw new IpamOperationError('Invalid', `report ${r.file} was written by tabbyctl ${r.version || '(unknown)'}, this is ${REPORT_VERSION}; refusing to release (write a new report, or use --force)`);
      warnings.push(`WARNING: report ${r.file} was written by tabbyctl ${r.version}; releasing anyway because of --force`);
    }
  }
  if (!reports.some((r) => r.clusterInformationRevision === cluster.revision)) {
    throw new IpamOperationError(
      'Conflict',
      `the report${reports.length > 1 ? 's are' : ' is'} stale: taken at ClusterInformation revision ${reports.map((r) => r.clusterInformationRevision || '(none)').join(', ')}, now ${cluster.revision} (the datastore was locked or unlocked since); write a new report with tabbyctl ipam check -o FILE while the datastore is locked`,
    );
  }
  if (!cluster.datastoreLocked) {
    if (!force) throw new IpamOperationError('Invalid', `the datastore is not locked (ClusterInformation default, spec.datastoreReady is not false); lock it so no address is assigned meanwhile (${LOCK_HINT}), or use --force`);
    warnings.push('WARNING: the datastore is not locked; releasing anyway because of --force');
  }

  const { candidates, handles } = mergeReports(reports);
  // Never free what a workload uses now, whatever the report says.
  const inUse = endpointsByIp(await new IpamStore(ds).listWorkloadEndpoints());
  const busy = candidates.filter((c) => inUse.has(c.ip)).map((c) => c.ip);
  const todo = candidates.filter((c) => !inUse.has(c.ip));
  const ipam = new BlockAllocator(ds);
  const released = todo.length === 0 ? [] : await ipam.releaseIPs(todo.map((c) => ({ ip: c.ip, sequenceNumber: c.sequenceNumber, ...(c.handle === undefined ? {} : { handleId: c.handle }) })));
  const done = new Set(released);
  const missed = todo.filter((c) => !done.has(c.ip));
  const snap = missed.length === 0 ? undefined : await new IpamStore(ds).snapshot();
  const alreadyReleased: string[] = [];
  const changed: string[] = [...busy];
  for (const c of missed) (snap && addressInfo(snap, parseIP(c.ip)).assigned ? changed : alreadyReleased).push(c.ip);

  const handlesDeleted: string[] = [];
  const handlesSkipped: string[] = [];
  for (const h of handles) {
    const rev = Number(h.revision);
    if (!Number.isSafeInteger(rev) || rev <= 0) {
      handlesSkipped.push(h.id);
      continue;
    }
    try {
      await ds.delete(handleKey(h.id), rev);
      handlesDeleted.push(h.id);
    } catch (err) {
      if (!isDatastoreError(err, 'Conflict') && !isDatastoreError(err, 'NotFound')) throw err;
      handlesSkipped.push(h.id);
    }
  }

  return { released, alreadyReleased, changed, handlesDeleted, handlesSkipped, warnings };
}
