// One CNI request in, one reply out: the agent-side entry of both plugins.
//
// Order of checks follows libcni's skel so error codes match the reference plugins: no
// CNI_COMMAND → the "about" text on stderr, exit 0; environment (code 4); VERSION answered
// before the config is read; config decode (6) and validation (1, 2, 7); the operation's minimum
// version (1); CNI_NETNS equal to our own netns on ADD/DEL (8). Then the plugin runs, serialised
// per container ID (runtimes may run different containers concurrently, never one twice).
// Every failure leaves as a spec-shaped error object on stdout with exit status 1.

import { statSync } from 'node:fs';
import type { Logger } from '../util/log.js';
import { TABBY_VERSION } from '../version.js';
import { type NetConf, decodeConfigObject, parseNetConf } from './config.js';
import { type CniRequestContext, type CniServices, Phases } from './context.js';
import { type CniEnv, parseCniEnv } from './env.js';
import { CniCode, CniError } from './errors.js';
import { KeyedMutex } from '../util/index.js';
import { addAddresses, checkAddresses, releaseAddresses } from './plugin-ipam.js';
import { addWorkload, checkWorkloadAttachment, collectAttachment, deleteWorkload } from './plugin-tabby.js';
import type { CniReply, CniRequest } from './protocol.js';
import { formatResult } from './result.js';
import { CURRENT_VERSION, SUPPORTED_VERSIONS, requireOperationAllowed, versionReply } from './versions.js';

export interface CniObserver {
  /** Called once per request with the outcome: exit code 0, or the CNI error code. */
  onRequest(plugin: 'tabby' | 'tabby-ipam', command: string, code: number, seconds: number): void;
}

const isIpamPlugin = (name: string): boolean => name.includes('ipam');

function topLevelVersion(stdin: Buffer): string | undefined {
  try {
    const v = (JSON.parse(stdin.toString('utf8')) as { cniVersion?: unknown }).cniVersion;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** libcni skel's "plugin's netns and netns from CNI_NETNS should not be the same" (code 8). */
function requireForeignNetns(env: CniEnv): void {
  if (env.netnsOverride || env.netns === '') return;
  let theirs;
  try {
    theirs = statSync(env.netns);
  } catch {
    return; // a missing netns is the plugin's business (ADD: code 3; DEL: nothing to do)
  }
  const ours = statSync('/proc/self/ns/net');
  if (theirs.dev === ours.dev && theirs.ino === ours.ino) {
    throw new CniError(CniCode.InvalidNetns, `plugin's netns and netns from CNI_NETNS should not be the same: ${env.netns} is the Tabby agent's own network namespace`);
  }
}

export class CniHandler {
  private readonly lock = new KeyedMutex();
  private readonly log: Logger;

  constructor(
    private readonly services: CniServices,
    private readonly observer?: CniObserver,
  ) {
    this.log = services.log.child({ component: 'cni' });
  }

  async handle(req: CniRequest): Promise<CniReply> {
    const started = performance.now();
    const plugin = isIpamPlugin(req.plugin) ? 'tabby-ipam' : 'tabby';
    const command = req.env.CNI_COMMAND ?? '';
    let version = topLevelVersion(req.stdin) ?? CURRENT_VERSION;
    let reply: CniReply;
    let code = 0;
    const phases = new Phases();
    try {
      reply = await this.dispatch(plugin, req, phases, (v) => (version = v));
    } catch (err) {
      const e = toCniError(err);
      code = e.code;
      reply = { exitCode: 1, stdout: JSON.stringify(e.toJSON(version)) + '\n', stderr: '' };
      const level = e.code === CniCode.Internal ? 'error' : 'warn';
      this.log[level]('CNI request failed', { plugin, command, containerId: req.env.CNI_CONTAINERID, code: e.code, details: e.details });
    }
    const seconds = (performance.now() - started) / 1000;
    if (command !== '') this.observer?.onRequest(plugin, command, code, seconds);
    if (code === 0 && command !== 'VERSION' && command !== 'STATUS') {
      this.log.info('CNI request done', { plugin, command, containerId: req.env.CNI_CONTAINERID, ifname: req.env.CNI_IFNAME, ms: Math.round(seconds * 1000), phases: phases.ms });
    }
    return reply;
  }

  private async dispatch(plugin: 'tabby' | 'tabby-ipam', req: CniRequest, phases: Phases, setVersion: (v: string) => void): Promise<CniReply> {
    if ((req.env.CNI_COMMAND ?? '') === '') {
      return { exitCode: 0, stdout: '', stderr: `Tabby CNI plugin ${plugin} ${TABBY_VERSION}\nCNI protocol versions supported: ${SUPPORTED_VERSIONS.join(', ')}\n` };
    }
    const env = parseCniEnv(req.env);
    if (env.command === 'VERSION') return { exitCode: 0, stdout: JSON.stringify(versionReply(topLevelVersion(req.stdin))) + '\n', stderr: '' };
    const conf = parseNetConf(decodeConfigObject(req.stdin), { ipamPlugin: plugin === 'tabby-ipam' });
    setVersion(conf.cniVersion);
    requireOperationAllowed(env.command, conf.cniVersion);
    if (env.command === 'ADD' || env.command === 'DEL') requireForeignNetns(env);
    const ctx: CniRequestContext = { env, conf, log: this.log.child({ containerId: env.containerId, plugin }), phases };
    phases.mark('parse');

    switch (env.command) {
      case 'ADD': {
        const result = await this.lock.run(env.containerId, () => (plugin === 'tabby' ? addWorkload(this.services, ctx) : addAddresses(this.services, ctx)));
        return { exitCode: 0, stdout: JSON.stringify(formatResult(result, conf.cniVersion)) + '\n', stderr: '' };
      }
      case 'DEL':
        await this.lock.run(env.containerId, () => (plugin === 'tabby' ? deleteWorkload(this.services, ctx) : releaseAddresses(this.services, ctx)));
        return ok();
      case 'CHECK':
        await this.lock.run(env.containerId, () => (plugin === 'tabby' ? checkWorkloadAttachment(this.services, ctx) : checkAddresses(this.services, ctx)));
        return ok();
      case 'STATUS': {
        const r = await this.services.readiness();
        if (!r.ready) throw new CniError(r.code, r.details);
        return ok();
      }
      case 'GC':
        await this.collectGarbage(conf);
        return ok();
    }
  }

  /** GC: everything this node recorded for the network that the runtime no longer lists. */
  private async collectGarbage(conf: NetConf): Promise<void> {
    if (conf.validAttachments === undefined) {
      throw new CniError(CniCode.InvalidNetworkConfig, 'GC needs "cni.dev/valid-attachments" (the runtime inserts it); without it nothing can be told stale');
    }
    const valid = new Set(conf.validAttachments.map((a) => `${a.containerID}\0${a.ifname}`));
    const problems: string[] = [];
    let removed = 0;
    for (const rec of this.services.attachments.list(conf.name)) {
      if (valid.has(`${rec.containerId}\0${rec.ifname}`)) continue;
      const p = await this.lock.run(rec.containerId, () => collectAttachment(this.services, rec));
      if (p.length === 0) removed++;
      problems.push(...p.map((x) => `${rec.containerId}/${rec.ifname}: ${x}`));
    }
    this.log.info('CNI GC done', { network: conf.name, removed, problems: problems.length });
    if (problems.length > 0) throw new CniError(CniCode.Internal, `GC removed ${removed} stale attachments but could not finish: ${problems.join('; ')}`);
  }
}

const ok = (): CniReply => ({ exitCode: 0, stdout: '', stderr: '' });

export function toCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  return new CniError(CniCode.Internal, (err as Error)?.message ?? String(err), undefined, { cause: err });
}

