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
    const { metafile } = await build({
      entryPoints: [entry],
      metafile: true,
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
    // Test support never ships: src/layers.test.ts keeps product code from importing it, and this
    // refuses a bundle that reached it anyway.
    const fixtures = Object.keys(metafile.inputs).filter((p) => /(^|\/)testing(\/|\.js$)|\.test(-suite)?\.js$/.test(p));
    if (fixtures.length > 0) throw new Error(`bundle ${name} includes test support: ${fixtures.join(', ')}`);
    if (executable.has(name)) chmodSync(`dist/bin/${name}.cjs`, 0o755);
  }),
);
