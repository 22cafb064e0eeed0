// The CNI environment (reference/cni-spec.md §1): parsing and validation, the way libcni's skel
// does it, so runtimes see the same error codes from Tabby as from any reference plugin.
//
// - CNI_COMMAND missing or unknown → code 4.
// - A variable required for the command (skel's table) missing or empty → code 4, naming them all.
// - CNI_CONTAINERID with characters outside [A-Za-z0-9_.-] (or not starting alphanumeric) → 4.
// - CNI_IFNAME empty, longer than 15, ".", "..", or containing "/", ":" or whitespace → 4.
// - CNI_ARGS not "K=V;K=V" → 4.
// Pure: the same-netns check (code 8) needs the filesystem and lives in the handler.

import { CniCode, CniError } from './errors.js';
import type { CniCommand } from './versions.js';

export interface CniEnv {
  readonly command: CniCommand;
  readonly containerId: string;
  readonly netns: string;
  readonly ifname: string;
  /** CNI_ARGS as key → value, in order of appearance (later duplicates win). */
  readonly args: Readonly<Record<string, string>>;
  readonly path: readonly string[];
  /** CNI_NETNS_OVERRIDE=1|TRUE: skip the "CNI_NETNS is the plugin's own netns" check. */
  readonly netnsOverride: boolean;
}

const COMMANDS: readonly CniCommand[] = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'];

/** skel's getCmdArgsFromEnv table: which variables each command needs. */
const REQUIRED: Record<CniCommand, readonly string[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  GC: ['CNI_PATH'],
  STATUS: ['CNI_PATH'],
  VERSION: [],
};

const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Undefined when `name` is a usable interface name, else what is wrong with it. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (name.length > 15) return `is ${name.length} characters long; Linux allows at most 15`;
  if (name === '.' || name === '..') return `cannot be "${name}"`;
  if (/[/:\s]/.test(name)) return 'may not contain "/", ":" or whitespace';
  return undefined;
}

export function parseCniArgs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (text === '') return out;
  for (const pair of text.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new CniError(CniCode.InvalidEnvironment, `CNI_ARGS entry ${JSON.stringify(pair)} is not KEY=VALUE; CNI_ARGS must look like "K8S_POD_NAMESPACE=default;K8S_POD_NAME=web"`);
    }
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

export function parseCniEnv(env: Readonly<Record<string, string | undefined>>): CniEnv {
  const command = env.CNI_COMMAND ?? '';
  if (command === '') throw new CniError(CniCode.InvalidEnvironment, 'required env variables [CNI_COMMAND] missing');
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new CniError(CniCode.InvalidEnvironment, `unknown CNI_COMMAND: ${command} (expected one of ${COMMANDS.join(', ')})`);
  }
  const cmd = command as CniCommand;
  const missing = REQUIRED[cmd].filter((name) => (env[name] ?? '') === '');
  if (missing.length > 0) throw new CniError(CniCode.InvalidEnvironment, `required env variables [${missing.join(',')}] missing`);

  const containerId = env.CNI_CONTAINERID ?? '';
  if (containerId !== '' && !CONTAINER_ID.test(containerId)) {
    throw new CniError(
      CniCode.InvalidEnvironment,
      `CNI_CONTAINERID ${JSON.stringify(containerId)} has invalid characters: it must start with a letter or digit, followed by letters, digits, "_", "." or "-"`,
    );
  }
  const ifname = env.CNI_IFNAME ?? '';
  if (REQUIRED[cmd].includes('CNI_IFNAME')) {
    const problem = interfaceNameProblem(ifname);
    if (problem !== undefined) throw new CniError(CniCode.InvalidEnvironment, `CNI_IFNAME ${JSON.stringify(ifname)} ${problem}`);
  }
  const override = (env.CNI_NETNS_OVERRIDE ?? '').toUpperCase();
  return {
    command: cmd,
    containerId,
    netns: env.CNI_NETNS ?? '',
    ifname,
    args: parseCniArgs(env.CNI_ARGS ?? ''),
    path: (env.CNI_PATH ?? '').split(':').filter((p) => p !== ''),
    netnsOverride: override === '1' || override === 'TRUE',
  };
}

/** Kubernetes identity from CNI_ARGS, when the runtime is a kubelet (or plays one). */
export interface K8sIdentity {
  readonly namespace: string;
  readonly pod: string;
  readonly infraContainerId?: string;
}

export function k8sIdentity(args: Readonly<Record<string, string>>): K8sIdentity | undefined {
  const namespace = args.K8S_POD_NAMESPACE ?? '';
  const pod = args.K8S_POD_NAME ?? '';
  if (namespace === '' || pod === '') return undefined;
  const infra = args.K8S_POD_INFRA_CONTAINER_ID;
  return infra !== undefined && infra !== '' ? { namespace, pod, infraContainerId: infra } : { namespace, pod };
}
