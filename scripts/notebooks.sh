#!/usr/bin/env bash
# Re-execute every notebook in notebooks/ in place with the memwall kernel,
# keeping the outputs (what is committed, so the notebooks read well on
# GitHub). make notebooks builds bin/memwall first. Full mode unless
# MEMWALL_QUICK is set in the environment.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/bin/memwall"
[ -x "$bin" ] || { echo "notebooks.sh: $bin is missing (run make build)" >&2; exit 1; }
jupyter="${JUPYTER:-/usr/bin/jupyter}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$bin" install --prefix "$tmp/prefix" >/dev/null
export JUPYTER_PATH="$tmp/prefix/share/jupyter"
export JUPYTER_DATA_DIR="$tmp/data" JUPYTER_RUNTIME_DIR="$tmp/runtime" JUPYTER_CONFIG_DIR="$tmp/config"
cd "$root/notebooks"
for nb in ${NOTEBOOKS:-*.ipynb}; do
	start=$(date +%s)
	"$jupyter" nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.kernel_name=memwall --ExecutePreprocessor.timeout=1800 "$nb"
	echo "notebooks.sh: $nb executed in $(( $(date +%s) - start )) s" >&2
done
