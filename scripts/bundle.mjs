// Bundles each executable's entry point into one CommonJS file with esbuild, for fast start.
import { chmodSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const entries = {
  tabbyctl: 'dist/src/ctl/main.js',
  // dist/bin/tabby.cjs is a dispatcher (written below): the BGP daemon loads its own bundle only.
  'tabby-cli': 'dist/src/tabby/main.js',
  'tabby-bgp': 'dist/src/tabby/bgp-main.js',
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
// `tabby bgp run` is a long-running daemon: it gets the bundle holding only the BGP speaker
// (src/tabby/bgp-main.ts), every other command the whole CLI.
writeFileSync(
  'dist/bin/tabby.cjs',
  [
    "'use strict';",
    '// Written by scripts/bundle.mjs: `tabby bgp run` loads the BGP speaker alone, the rest the whole CLI.',
    "const [cmd, sub] = process.argv.slice(2);",
    "require(cmd === 'bgp' && sub === 'run' ? './tabby-bgp.cjs' : './tabby-cli.cjs');",
    '',
  ].join('\n'),
);
