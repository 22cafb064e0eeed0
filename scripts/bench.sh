#!/usr/bin/env bash
# Runs benchmarks from dist/bench: all of them, or the one named. Each prints a final JSON line
# {"bench":..., "value":..., "anchor":..., "anchorValue":..., "ratio":...} (DESIGN.md §9).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ] && [ -n "$1" ]; then
  f="dist/bench/$1.bench.js"
  [ -f "$f" ] || { echo "no benchmark named '$1' (have: $(ls dist/bench/*.bench.js 2>/dev/null | xargs -n1 basename | sed 's/.bench.js//' | tr '\n' ' '))" >&2; exit 2; }
  exec node "$f"
fi
for f in dist/bench/*.bench.js; do
  echo "== $(basename "$f" .bench.js)"
  node "$f"
done
