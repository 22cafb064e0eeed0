// Reading `ipam check` reports back for `ipam release --from-report` (calico-internals.md §4.6).
// A report names, per address, the allocation it saw (handle and sequence number) and whether
// anything used it; release frees only addresses every given report saw unused, and only the very
// allocation the report saw — the sequence number guards against one released and handed out
// again since. Pure: parsing, validation (errors name the file and the field) and merging.

import { isJsonObject, type JsonValue } from '../../util/index.js';

export class ReportError extends Error {
  override readonly name = 'ReportError';
  readonly code = 'Invalid';
}

/** An address a report saw allocated and unused, and the allocation it saw. */
export interface ReleaseCandidate {
  readonly ip: string;
  readonly handle?: string;
  readonly sequenceNumber: number;
}

export interface HandleCandidate {
  readonly id: string;
  readonly revision: string;
}

export interface ParsedReport {
  readonly file: string;
  readonly version: string;
  readonly clusterGUID: string;
  readonly clusterInformationRevision: string;
  readonly candidates: ReleaseCandidate[];
  readonly handles: HandleCandidate[];
}

export function parseReport(text: string, file: string): ParsedReport {
  let v: JsonValue;
  try {
    v = JSON.parse(text) as JsonValue;
  } catch (e) {
    throw new ReportError(`report ${file} is not JSON: ${(e as Error).message}`);
  }
  if (!isJsonObject(v)) throw new ReportError(`report ${file} is not a JSON object (expected the output of tabbyctl ipam check -o FILE)`);
  const str = (k: string): string => {
    const x = v[k];
    if (typeof x !== 'string') throw new ReportError(`report ${file}: field ${k} is ${x === undefined ? 'missing' : 'not a string'} (expected the output of tabbyctl ipam check -o FILE)`);
    return x;
  };
  const allocations = v['allocations'];
  if (!isJsonObject(allocations)) throw new ReportError(`report ${file}: field allocations is ${allocations === undefined ? 'missing' : 'not an object of IP address → list'}`);
  const candidates: ReleaseCandidate[] = [];
  for (const [ip, list] of Object.entries(allocations)) {
    if (!Array.isArray(list)) throw new ReportError(`report ${file}: allocations["${ip}"] is not a list`);
    list.forEach((a, i) => {
      const where = `report ${file}: allocations["${ip}"][${i}]`;
      if (!isJsonObject(a)) throw new ReportError(`${where} is not an object`);
      if (typeof a['inUse'] !== 'boolean') throw new ReportError(`${where}.inUse is missing or not true/false`);
      if (a['inUse'] || a['coolingDown'] === true) return;
      const seq = a['sequenceNumber'];
      if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw new ReportError(`${where}.sequenceNumber is missing or not a whole number; without it a release could free an address handed out again since`);
      const handle = a['handle'];
      if (handle !== undefined && handle !== null && typeof handle !== 'string') throw new ReportError(`${where}.handle is not a string`);
      candidates.push({ ip, ...(typeof handle === 'string' && handle !== '' ? { handle } : {}), sequenceNumber: seq });
    });
  }
  const rawHandles = v['leakedHandles'] ?? [];
  if (!Array.isArray(rawHandles)) throw new ReportError(`report ${file}: field leakedHandles is not a list`);
  const handles = rawHandles.map((h, i) => {
    if (!isJsonObject(h) || typeof h['ID'] !== 'string' || typeof h['Revision'] !== 'string') {
      throw new ReportError(`report ${file}: leakedHandles[${i}] is not {"ID": string, "Revision": string}`);
    }
    return { id: h['ID'], revision: h['Revision'] };
  });
  return { file, version: str('version'), clusterGUID: str('clusterGUID'), clusterInformationRevision: str('clusterInformationRevision'), candidates, handles };
}

const candidateKey = (c: ReleaseCandidate) => `${c.ip}|${c.handle ?? ''}|${c.sequenceNumber}`;

/**
 * What every report agrees on: addresses unused with the same allocation (handle and sequence
 * number) in all of them, and leaked handles at the same revision in all of them. Reports taken
 * some time apart so give extra certainty that an address is leaked, not mid-assignment.
 */
export function mergeReports(reports: readonly ParsedReport[]): { candidates: ReleaseCandidate[]; handles: HandleCandidate[] } {
  const [first, ...rest] = reports;
  if (!first) return { candidates: [], handles: [] };
  let candidates = first.candidates;
  let handles = first.handles;
  for (const r of rest) {
    const keys = new Set(r.candidates.map(candidateKey));
    candidates = candidates.filter((c) => keys.has(candidateKey(c)));
    const hs = new Set(r.handles.map((h) => `${h.id}|${h.revision}`));
    handles = handles.filter((h) => hs.has(`${h.id}|${h.revision}`));
  }
  return { candidates, handles };
}
