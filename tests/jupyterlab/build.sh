#!/usr/bin/env bash
# Builds memwall's JupyterLab test fixture (app/) and prints the directory of
# the build. The build is cached under $MEMWALL_LAB_CACHE (default
# ${XDG_CACHE_HOME:-~/.cache}/memwall/jupyterlab), keyed by a hash of the
# lockfile and the fixture's sources, so only the first run after a change
# pays for `npm ci` and esbuild. node_modules lives in a scratch copy under
# the cache, never in the work tree (go vet ./... would walk it), and is
# removed once the bundle is built.
set -euo pipefail
app="$(cd "$(dirname "$0")" && pwd)/app"
files=(package.json package-lock.json build.mjs index.js shims.js)
key=$(cd "$app" && cat "${files[@]}" | sha256sum | cut -c1-16)
cache="${MEMWALL_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/memwall/jupyterlab}"
out="$cache/$key"
if [ -f "$out/build/static/bundle.js" ]; then
  echo "jupyterlab fixture: cached build $out/build" >&2
  echo "$out/build"
  exit 0
fi
command -v npm >/dev/null || { echo "jupyterlab fixture: npm is not installed (apt-get install npm)" >&2; exit 1; }
mkdir -p "$cache"
work="$(mktemp -d "$cache/tmp.XXXXXX")"
trap 'rm -rf "$work"' EXIT
(cd "$app" && cp "${files[@]}" "$work/")
start=$(date +%s)
echo "jupyterlab fixture: npm ci in $work" >&2
(cd "$work" && npm ci --no-audit --no-fund --loglevel=error) >&2
node "$work/build.mjs" "$work/build" >&2
rm -rf "$work/node_modules"
# Another build may have finished first; either copy is the same build.
mv -T "$work" "$out" 2>/dev/null || true
echo "jupyterlab fixture: npm ci and build took $(( $(date +%s) - start )) s" >&2
echo "$out/build"
