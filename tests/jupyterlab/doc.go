// Package jupyterlab holds memwall's JupyterLab test: a JupyterLab 4
// notebook application built from JupyterLab's npm packages (app/, built
// by build.sh with esbuild and cached by the lockfile's hash), served on
// 127.0.0.1 by Debian's jupyter_server and jupyterlab_server (app/serve.py),
// and driven in Debian's headless Chromium with chromedp.
//
// The test runs every cell of the quickstart through the page, drives the
// widgets notebook's controls (when the project has one), and opens every
// committed course notebook as a reader would, untrusted, to check that its
// pictures survive JupyterLab's sanitizer. Screenshots go to
// $MEMWALL_ARTIFACTS (default: a temporary directory named in the log).
//
//	go test ./tests/jupyterlab/ -v
package jupyterlab
