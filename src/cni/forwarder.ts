// The TypeScript forwarder: the same job as the C shim (src/cni/shim/shim.c), for hosts without a
// compiler. Bundled as dist/bin/tabby-cni.cjs with a `#!/usr/bin/env node` line; installed under
// the plugin names `tabby` and `tabby-ipam`, it learns which plugin it is from the name it was
// run as. Costs a Node start (~100 ms) per call, which is why the C shim is the default.

import { readFileSync } from 'node:fs';
import net from 'node:net';
import { basename } from 'node:path';
import { FrameReader, decodeReply, encodeRequest } from './protocol.js';
import { versionReply } from './versions.js';

export const DEFAULT_SOCKET = '/run/tabby/cni.sock';

function topLevel(stdin: Buffer): { cniVersion: string; socket?: string } {
  try {
    const c = JSON.parse(stdin.toString('utf8')) as { cniVersion?: unknown; tabby_socket?: unknown };
    return {
      cniVersion: typeof c.cniVersion === 'string' && c.cniVersion !== '' ? c.cniVersion : '1.1.0',
      ...(typeof c.tabby_socket === 'string' && c.tabby_socket !== '' ? { socket: c.tabby_socket } : {}),
    };
  } catch {
    return { cniVersion: '1.1.0' };
  }
}

function unreachable(version: string, command: string | undefined, socketPath: string, what: string): { exitCode: number; stdout: string } {
  // As the C shim: VERSION is static, and runtimes validate configs with it; answer it here.
  if (command === 'VERSION') return { exitCode: 0, stdout: JSON.stringify(versionReply(version)) + '\n' };
  const details = `the Tabby agent at ${socketPath} could not be reached (${what}); is \`tabby node\` running on this host?`;
  const [code, msg] = command === 'STATUS' ? [50, 'plugin not available'] : [11, 'try again later'];
  return { exitCode: 1, stdout: JSON.stringify({ cniVersion: version, code, msg, details }) + '\n' };
}

export async function forward(opts: {
  plugin: string;
  env: NodeJS.ProcessEnv;
  stdin: Buffer;
  socketPath?: string;
  timeoutMs?: number;
}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const conf = topLevel(opts.stdin);
  // As the C shim: TABBY_CNI_SOCKET, else the config's "tabby_socket", else the default.
  const socketPath = opts.socketPath || opts.env.TABBY_CNI_SOCKET || conf.socket || DEFAULT_SOCKET;
  const timeoutMs = opts.timeoutMs ?? (Number(opts.env.TABBY_CNI_TIMEOUT) > 0 ? Number(opts.env.TABBY_CNI_TIMEOUT) * 1000 : 300_000);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.env)) if (k.startsWith('CNI_') && v !== undefined) env[k] = v;
  const version = conf.cniVersion;
  const command = opts.env.CNI_COMMAND;
  return new Promise((resolve) => {
    const reader = new FrameReader();
    let settled = false;
    const finish = (r: { exitCode: number; stdout: string; stderr?: string }) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve({ stderr: '', ...r });
    };
    const socket = net.connect(socketPath);
    socket.setTimeout(timeoutMs, () => finish(unreachable(version, command, socketPath, `no reply within ${timeoutMs / 1000} s`)));
    socket.on('connect', () => socket.write(encodeRequest({ plugin: opts.plugin, env, stdin: opts.stdin })));
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
        if (reader.frames.length >= 3) finish(decodeReply(reader.frames.slice(0, 3)));
      } catch (err) {
        finish(unreachable(version, command, socketPath, (err as Error).message));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => finish(unreachable(version, command, socketPath, `${err.syscall ?? 'socket'}: ${err.code ?? err.message}`)));
    socket.on('end', () => finish(unreachable(version, command, socketPath, 'connection closed before a complete reply')));
  });
}

/** Entry point of the bundled forwarder. */
export async function main(): Promise<void> {
  const plugin = basename(process.argv[1] ?? 'tabby').replace(/\.c?js$/, '');
  const command = process.env.CNI_COMMAND;
  const stdin = command ? readFileSync(0) : Buffer.alloc(0);
  const r = await forward({ plugin: plugin === 'tabby-cni' ? 'tabby' : plugin, env: process.env, stdin });
  process.stdout.write(r.stdout);
  if (r.stderr) process.stderr.write(r.stderr);
  process.exitCode = r.exitCode;
}
