#!/usr/bin/env bash
# Installs what memwall's tests and notebook server need from Debian's
# packages, only when something is missing. Under CI=true a package that
# cannot be installed is a failure; elsewhere it is a warning.
set -u
need=()
have() { command -v "$1" >/dev/null 2>&1; }
pyhas() { /usr/bin/python3 -c "import $1" >/dev/null 2>&1; }

have qemu-aarch64-static || need+=(qemu-user-static)
[ -x /usr/bin/python3 ] || need+=(python3)
pyhas jupyter_client || need+=(python3-jupyter-client)
pyhas nbconvert || need+=(jupyter-nbconvert)
pyhas nbclient || need+=(python3-nbclient)
pyhas notebook || need+=(jupyter-notebook)
pyhas numpy || need+=(python3-numpy)
# The classroom test (tests/classroom): JupyterHub 3 and its proxy.
[ -x /usr/bin/jupyterhub ] || need+=(jupyterhub)
[ -x /usr/bin/configurable-http-proxy ] || need+=(node-configurable-http-proxy)
pyhas tornado || need+=(python3-tornado)
# deploy/check.sh: readelf tells a static binary.
have readelf || need+=(binutils)
# The browser tests (tests/browser, tests/jupyterlab): Chromium; for
# JupyterLab, Debian's jupyter_server and jupyterlab_server serve a
# JupyterLab built from npm packages.
if [ "${MEMWALL_BROWSER_TESTS:-1}" != 0 ]; then
  have chromium || need+=(chromium)
  pyhas jupyter_server || need+=(python3-jupyter-server)
  pyhas jupyterlab_server || need+=(python3-jupyterlab-server)
  have npm || need+=(npm)
fi

# lab_fixture runs npm ci and builds the JupyterLab test fixture once per
# lockfile (cached; a no-op afterwards), so the Go test starts at once.
lab_fixture() {
  [ "${MEMWALL_BROWSER_TESTS:-1}" != 0 ] || return 0
  have npm || return 0
  if ! bash "$(dirname "$0")/../tests/jupyterlab/build.sh" >/dev/null; then
    echo "deps: could not build the JupyterLab test fixture (tests/jupyterlab/build.sh)" >&2
    [ "${CI:-}" = true ] && return 1
  fi
  return 0
}

if [ ${#need[@]} -eq 0 ]; then
  lab_fixture
  exit $?
fi
echo "deps: installing ${need[*]}"
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
if $sudo apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need[@]}" >/dev/null; then
  lab_fixture
  exit $?
fi
echo "deps: could not install ${need[*]}" >&2
if [ "${CI:-}" = true ]; then
  exit 1
fi
echo "deps: tests that need them will be skipped (they fail under CI=true)" >&2
exit 0
