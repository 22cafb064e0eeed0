'use strict';
// dist/bin/tabby.cjs (copied there by scripts/bundle.mjs): the dispatcher every `tabby` command
// starts through. `tabby bgp run` loads the bundle of the BGP speaker alone (tabby-bgp.cjs), every
// other command the whole CLI (tabby-cli.cjs).
//
// Start-up cost (ARCHITECTURE.md "Start-up"): a bundle with a V8 code cache beside it
// (<bundle>.cache, written by scripts/code-cache.mjs at the end of a training run of the speaker)
// is compiled with that cache, so V8 neither parses the bundle nor compiles the functions that
// starting a speaker runs. The cache is used only with the build it was made from: the bundle's
// last line names its build (a SHA-256 of its text, written by scripts/bundle.mjs) and the cache
// starts with the same line; V8 then checks its own version and flags. Without a cache, with a
// stale or a rejected one, the bundle compiles from source as a plain require() would: the same
// code, only slower to start. No hashing at start-up (node:crypto alone costs ~4 ms to load).
//
// The bundle runs as a CommonJS module of its own (module, exports, require, __filename and
// __dirname as require() gives them), so it behaves the same either way.

const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const Module = require('node:module');

const [cmd, sub] = process.argv.slice(2);
const bundle = join(__dirname, cmd === 'bgp' && sub === 'run' ? 'tabby-bgp.cjs' : 'tabby-cli.cjs');

/** The line naming a bundle's build, last in the bundle and first in its cache. */
const BUILD_MARK = '//# tabby-build ';

/** The bundle's build line ("//# tabby-build <hex>\n"), or '' when it has none. */
function buildLine(source) {
  const at = source.lastIndexOf(BUILD_MARK);
  return at < 0 ? '' : source.slice(at).trimEnd() + '\n';
}

/** The V8 code cache made from exactly this build of the bundle, if there is one. */
function cacheFor(file, source) {
  const line = buildLine(source);
  if (!line) return undefined;
  let cache;
  try {
    cache = readFileSync(`${file}.cache`);
  } catch {
    return undefined; // none beside the bundle: compile from source
  }
  return cache.length > line.length && cache.toString('latin1', 0, line.length) === line ? cache.subarray(line.length) : undefined;
}

function load(file) {
  const source = readFileSync(file, 'utf8');
  const vm = require('node:vm');
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData: cacheFor(file, source) });
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(__dirname);
  require.cache[file] = mod;
  const out = process.env.TABBY_CODE_CACHE_OUT;
  if (out) {
    // scripts/code-cache.mjs's training run: written at exit, the cache holds every function the
    // run compiled, not only the bundle's top level.
    process.once('exit', () => {
      require('node:fs').writeFileSync(out, Buffer.concat([Buffer.from(buildLine(source), 'latin1'), script.createCachedData()]));
    });
  }
  script.runInThisContext({ displayErrors: true })(mod.exports, Module.createRequire(file), mod, file, __dirname);
  mod.loaded = true;
}

load(bundle);
