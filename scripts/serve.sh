#!/usr/bin/env bash
# The main job: install the memwall kernelspec and start a notebook server
# on loopback over notebooks/ (JupyterLab where installed, else the classic
# Notebook), printing its URL.
set -euo pipefail
port="${1:-8888}"
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/bin/memwall" install --user
jupyter=jupyter
[ -x /usr/bin/jupyter ] && jupyter=/usr/bin/jupyter
if "$jupyter" lab --version >/dev/null 2>&1; then app=lab; else app=notebook; fi
extra=()
# Jupyter refuses to run as root unless told; containers and CI often are root.
[ "$(id -u)" = 0 ] && extra+=(--allow-root)
cd "$root/notebooks"
echo "starting Jupyter $app on http://127.0.0.1:$port (the URL with its token follows)"
exec "$jupyter" "$app" --ip=127.0.0.1 --port="$port" --no-browser "${extra[@]}"
