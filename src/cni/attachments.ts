// Node-local records of the attachments this node's plugins made: one small JSON file per
// (network, containerID, ifname) under `<stateDir>/attachments/<network>/`.
//
// Why: CNI GC (spec 1.1.0) hands the plugin the attachments that are still valid; everything else
// this node made for that network may go. IPAM handles are cluster-wide and carry no node, so the
// node needs its own list to know what is "its". The record also keeps the ADD result, which
// makes a repeated ADD answer exactly what the first one did.
// Writes are atomic (temp file + rename), so a crash leaves the old record or the new one.

import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CniResult } from './result.js';

export interface AttachmentRecord {
  readonly network: string;
  readonly containerId: string;
  readonly ifname: string;
  readonly plugin: 'main' | 'ipam';
  readonly handleId: string;
  readonly netns?: string;
  readonly hostIfname?: string;
  /** WorkloadEndpoint namespace/name, for the main plugin. */
  readonly wep?: { namespace: string; name: string };
  readonly result: CniResult;
}

export class AttachmentStore {
  constructor(readonly stateDir: string) {}

  private dir(network: string): string {
    return join(this.stateDir, 'attachments', network);
  }

  private file(network: string, containerId: string, ifname: string): string {
    return join(this.dir(network), `${containerId}_${encodeURIComponent(ifname)}.json`);
  }

  get(network: string, containerId: string, ifname: string): AttachmentRecord | undefined {
    try {
      return JSON.parse(readFileSync(this.file(network, containerId, ifname), 'utf8')) as AttachmentRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  put(rec: AttachmentRecord): void {
    const dir = this.dir(rec.network);
    mkdirSync(dir, { recursive: true });
    const path = this.file(rec.network, rec.containerId, rec.ifname);
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(rec));
    renameSync(tmp, path);
  }

  remove(network: string, containerId: string, ifname: string): void {
    rmSync(this.file(network, containerId, ifname), { force: true });
  }

  list(network: string): AttachmentRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir(network));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: AttachmentRecord[] = [];
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      try {
        out.push(JSON.parse(readFileSync(join(this.dir(network), name), 'utf8')) as AttachmentRecord);
      } catch {
        // A record removed while listing, or a torn file from a crash before rename: skip it.
      }
    }
    return out;
  }
}
