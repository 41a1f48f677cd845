#!/usr/bin/env bash
# Checks the container recipe as far as this machine allows (no container
# engine runs here): the recipe's files exist, the binary builds the way the
# recipe's build stage builds it (static, CGO_ENABLED=0), the recipe's own
# install line installs a kernelspec, and a kernel started from that
# kernelspec by jupyter_client, with no model files and an empty home, runs
# a cell. Under CI=true a missing tool is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
recipe=deploy/Containerfile
pass=0 fail=0
ok() { echo "ok    $*"; pass=$((pass + 1)); }
bad() { echo "FAIL  $*"; fail=$((fail + 1)); }
for f in "$recipe" docs/deploy.md; do
  if [ -f "$f" ]; then ok "$f exists"; else bad "$f is missing"; fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The build stage's command, taken from the recipe.
build=$(grep -A1 '^# check.sh: build' "$recipe" | sed -n 2p | sed 's/^RUN //')
case "$build" in
  *CGO_ENABLED=0*) ;;
  *) bad "the recipe's build line does not set CGO_ENABLED=0: $build" ;;
esac
mkdir -p "$tmp/out" "$tmp/usr/local/bin"
if (eval "${build//\/out\//$tmp/out/}"); then ok "static build: ${build//\/out\//$tmp/out/}"; else bad "the recipe's build command failed"; fi
bin="$tmp/out/memwall"
# Without readelf the INTERP test below would find nothing and pass.
if ! command -v readelf >/dev/null; then
  if [ "${CI:-}" = true ]; then bad "readelf is missing (binutils)"; else echo "SKIP  the static check (no readelf; binutils)"; fi
elif [ -x "$bin" ] && ! readelf -l "$bin" | grep -q INTERP; then
  ok "the binary is static (no program interpreter; $(stat -c %s "$bin") bytes)"
else
  bad "the binary is not static"
fi
cp "$bin" "$tmp/usr/local/bin/memwall"

# The recipe's install line, with its prefix moved under $tmp.
install=$(grep -A1 '^# check.sh: install' "$recipe" | sed -n 2p | sed 's/^RUN //')
install=${install/--prefix \/usr\/local/--prefix $tmp/usr/local}
install=${install/#memwall /$tmp/usr/local/bin/memwall }
install=${install//\/var\/cache\/memwall/$tmp/cache}
install=${install//=\/models/=$tmp/models}
mkdir -p "$tmp/cache" "$tmp/models" "$tmp/home"
if (eval "$install" >/dev/null); then ok "the recipe's install line: $install"; else bad "the recipe's install line failed"; fi
spec="$tmp/usr/local/share/jupyter/kernels/memwall/kernel.json"
if [ -f "$spec" ] && grep -q MEMWALL_CACHE_DIR "$spec"; then ok "kernelspec with the class settings in its env"; else bad "no kernelspec at $spec"; fi

if ! /usr/bin/python3 -c 'import jupyter_client' 2>/dev/null; then
  if [ "${CI:-}" = true ]; then bad "python3-jupyter-client is missing"; else echo "SKIP  the kernel run (no python3-jupyter-client)"; fi
else
  out=$(HOME="$tmp/home" JUPYTER_PATH="$tmp/usr/local/share/jupyter" JUPYTER_RUNTIME_DIR="$tmp/runtime" \
    XDG_CACHE_HOME="$tmp/home/.cache" timeout 120 /usr/bin/python3 - <<'PY' 2>&1
import jupyter_client
km, kc = jupyter_client.manager.start_new_kernel(kernel_name="memwall")
try:
    texts = []
    def hook(msg):
        c = msg["content"]
        texts.append(c.get("text", "") or c.get("data", {}).get("text/plain", ""))
    r = kc.execute_interactive("%load --shape stories260K\n%generate -n 8 Once upon a time", timeout=90, output_hook=hook)
    print("status", r["content"]["status"])
    print("".join(texts)[-300:])
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
PY
  ) || true
  if grep -q "^status ok" <<<"$out"; then ok "a kernel started from the installed kernelspec ran a cell"; else bad "the kernel run: $out"; fi
  if ls "$tmp/cache"/stories260K-seed1-v1.bin >/dev/null 2>&1; then ok "its synthetic model went to the cache the kernelspec names"; else bad "nothing in $tmp/cache"; fi
fi
echo "deploy: $pass passed, $fail failed"
[ "$fail" = 0 ]
