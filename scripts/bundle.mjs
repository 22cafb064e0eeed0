// Bundles each executable's entry point into one CommonJS file with esbuild, for fast start.
import { build } from 'esbuild';

const entries = {
  tabbyctl: 'dist/src/ctl/main.js',
  tabby: 'dist/src/cli/main.js',
};
await Promise.all(
  Object.entries(entries).map(([name, entry]) =>
    build({
      entryPoints: [entry],
      outfile: `dist/bin/${name}.cjs`,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      sourcemap: 'linked',
      logLevel: 'warning',
      legalComments: 'none',
    }),
  ),
);
