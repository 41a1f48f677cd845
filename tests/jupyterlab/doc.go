// Package jupyterlab holds memwall's JupyterLab test: a JupyterLab 4
// notebook application built from JupyterLab's npm packages (app/, built
// by build.sh with esbuild and cached by the lockfile's hash), served on
// 127.0.0.1 by Debian's jupyter_server and jupyterlab_server (app/serve.py),
// and driven in Debian's headless Chromium with chromedp.
//
// The test opens every committed notebook as a reader would, untrusted, and
// checks that its pictures survive JupyterLab's sanitizer; runs every cell
// of the quickstart through the page; and runs 10-explore, drags the
// explorer's layer slider with the mouse, moves its head dropdown with the
// keyboard, and checks that the kernel redrew the picture each time. Screenshots go to
// $MEMWALL_ARTIFACTS (default: a temporary directory named in the log).
//
//	go test ./tests/jupyterlab/ -v
package jupyterlab
