// Bundles each executable's entry point into one CommonJS file with esbuild, for fast start.
import { chmodSync } from 'node:fs';
import { build } from 'esbuild';

const entries = {
  tabbyctl: 'dist/src/ctl/main.js',
  tabby: 'dist/src/tabby/main.js',
  // The TypeScript CNI forwarder: installed as the `tabby`/`tabby-ipam` plugins when no C compiler built the shim.
  'tabby-cni': 'dist/src/cni/forwarder-main.js',
};
const executable = new Set(['tabby-cni']);
await Promise.all(
  Object.entries(entries).map(async ([name, entry]) => {
    await build({
      entryPoints: [entry],
      outfile: `dist/bin/${name}.cjs`,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      sourcemap: 'linked',
      logLevel: 'warning',
      legalComments: 'none',
      ...(executable.has(name) ? { banner: { js: '#!/usr/bin/env node' } } : {}),
    });
    if (executable.has(name)) chmodSync(`dist/bin/${name}.cjs`, 0o755);
  }),
);
