// The shared context every tabbyctl command group receives: I/O, datastore access, output,
// and the mapping from errors to exit codes.
//
// To add a command group (e.g. `tabbyctl ipam ...`), write `src/ctl/<group>.ts` exporting
// `registerXxxCommands(program: Command, ctx: CtlContext)` and call it from program.ts. Inside:
//
//   const cmd = program.command('ipam').description('...');
//   ctx.addDatastoreOptions(cmd.command('show'))          // --datastore-type, --etcd-*, -c/--config
//     .option('--ip <addr>', '...')
//     .addHelpText('after', '\nExamples:\n  tabbyctl ipam show --ip 10.244.0.5\n')
//     .action(ctx.action(async (opts: DatastoreFlags & { ip?: string }) => {
//       await ctx.withDatastore(opts, async (ds) => { ... ctx.out(text) ... });
//       return ExitCode.Ok;                               // or another ExitCode; void means Ok
//     }));
//
// - `ctx.action(fn)` wraps a commander action: a thrown error is printed to stderr (formatError:
//   validation issues line by line, datastore trouble with a hint) and becomes the exit code
//   `exitCodeFor(err)` (0 ok, 1 invalid/usage, 2 not found, 3 exists/conflict, 4 unavailable).
//   Throw errors with a stable `code` ('NotFound', 'Conflict', 'Unavailable', ...) and the mapping
//   needs no changes; use `ctx.err(text)` for warnings and `ctx.out(text)` for results.
// - `ctx.withDatastore(opts, fn)` opens the datastore the flags, env (DATASTORE_TYPE,
//   ETCD_ENDPOINTS, ETCD_*_FILE) and config file name, runs fn, and always closes it.
//   `ctx.withClient(opts, fn)` does the same with a ResourceClient over it.
// - `ctx.render(items, opts)` prints resources in the -o formats (output.ts).
//
// The context holds no global state besides the exit code of the command that ran, so tests
// can build a program with their own I/O and datastore opener (`createContext`).

import type { Command } from 'commander';
import { ResourceClient } from '../client/index.js';
import type { Datastore } from '../datastore/index.js';
import type { ResourceObject } from '../model/index.js';
import { type DatastoreFlags, addDatastoreOptions, openDatastoreFromFlags } from './datastore-options.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { type RenderOptions, renderResources } from './output.js';
import { formatError } from './error-text.js';

export interface CtlIO {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whole standard input as text (for `-f -`). */
  readonly readStdin: () => string;
}

/** Opens the datastore for a command; tests inject their own. */
export type DatastoreOpener = (flags: DatastoreFlags, env: CtlIO['env']) => Promise<Datastore>;

export interface CtlContext {
  readonly io: CtlIO;
  /** Exit code of the last action; runTabbyctl returns it. */
  exitCode: ExitCode;
  addDatastoreOptions(cmd: Command): Command;
  withDatastore<T>(flags: DatastoreFlags, fn: (ds: Datastore) => Promise<T>): Promise<T>;
  withClient<T>(flags: DatastoreFlags, fn: (client: ResourceClient) => Promise<T>): Promise<T>;
  action<A extends unknown[]>(fn: (...args: A) => Promise<ExitCode | void>): (...args: A) => Promise<void>;
  /** Print an error the way actions do, returning its exit code (for per-item reporting). */
  report(err: unknown, opts?: { nothingStored?: boolean }): ExitCode;
  out(text: string): void;
  err(text: string): void;
  render(items: readonly ResourceObject[], opts: RenderOptions): void;
}

export function createContext(io: CtlIO, open: DatastoreOpener = openDatastoreFromFlags): CtlContext {
  let lastDatastore: string | undefined;
  const ctx: CtlContext = {
    io,
    exitCode: ExitCode.Ok,
    addDatastoreOptions,
    async withDatastore(flags, fn) {
      const ds = await open(flags, io.env);
      lastDatastore = ds.description;
      try {
        return await fn(ds);
      } finally {
        await ds.close().catch(() => undefined);
      }
    },
    withClient(flags, fn) {
      return ctx.withDatastore(flags, (ds) => fn(new ResourceClient(ds)));
    },
    action(fn) {
      return async (...args) => {
        try {
          const code = await fn(...args);
          ctx.exitCode = code ?? ExitCode.Ok;
        } catch (err) {
          ctx.exitCode = ctx.report(err, { nothingStored: true });
        }
      };
    },
    report(err, opts = {}) {
      const code = exitCodeFor(err);
      const nothingStored = opts.nothingStored === true && code === ExitCode.Invalid;
      io.stderr.write(formatError(err, lastDatastore === undefined ? { nothingStored } : { nothingStored, datastore: lastDatastore }));
      return code;
    },
    out: (text) => void io.stdout.write(text),
    err: (text) => void io.stderr.write(text),
    render: (items, opts) => void io.stdout.write(renderResources(items, opts)),
  };
  return ctx;
}
