#!/usr/bin/env bash
# The main job: install the memwall kernelspec and start a notebook server
# on loopback over notebooks/ (JupyterLab where installed, else the classic
# Notebook), printing its URL.
set -euo pipefail
port="${1:-8888}"
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/bin/memwall" install --user
# The real JupyterLab wherever it is: first the jupyter on PATH (a pip
# install in a virtual environment), then Debian's. Otherwise Debian's
# classic Notebook.
app=notebook
jupyter=jupyter
[ -x /usr/bin/jupyter ] && jupyter=/usr/bin/jupyter
for j in "$(command -v jupyter 2>/dev/null || true)" /usr/bin/jupyter; do
  if [ -n "$j" ] && [ -x "$j" ] && "$j" lab --version >/dev/null 2>&1; then
    jupyter="$j" app=lab
    break
  fi
done
extra=()
# Jupyter refuses to run as root unless told; containers and CI often are root.
[ "$(id -u)" = 0 ] && extra+=(--allow-root)
cd "$root/notebooks"

# UI=lab-fixture serves the JupyterLab the tests build from npm packages
# (tests/jupyterlab) with Debian's jupyter_server: on a machine without pip
# it is the one way to see the live widgets, which the classic Notebook's
# older widgets extension cannot show. It is a test fixture, not a full
# JupyterLab (no terminal, launcher, search or extension manager), so it is
# never chosen unasked.
ui="${MEMWALL_UI:-${UI:-}}"
if [ "$ui" = lab-fixture ]; then
  build="$(bash "$root/tests/jupyterlab/build.sh")"
  state="${XDG_STATE_HOME:-$HOME/.local/state}/memwall/lab-fixture"
  echo "starting memwall's JupyterLab test fixture on http://127.0.0.1:$port/lab (the URL with its token follows)"
  [ "$(id -u)" = 0 ] && extra=(--ServerApp.allow_root=True)
  MEMWALL_LAB_STATE="$state" exec /usr/bin/python3 "$root/tests/jupyterlab/app/serve.py" "$build" \
    --ServerApp.ip=127.0.0.1 --ServerApp.port="$port" --ServerApp.open_browser=False \
    --ServerApp.root_dir="$root/notebooks" "${extra[@]}"
fi
if [ "$app" = notebook ]; then
  echo "JupyterLab is not installed: the classic Notebook shows the live views' static pictures only."
  echo "  pip install jupyterlab ipywidgets   gives the real JupyterLab with widgets (see README);"
  echo "  UI=lab-fixture make serve           serves the JupyterLab the tests build, without pip."
fi
echo "starting Jupyter $app on http://127.0.0.1:$port (the URL with its token follows)"
exec "$jupyter" "$app" --ip=127.0.0.1 --port="$port" --no-browser "${extra[@]}"
