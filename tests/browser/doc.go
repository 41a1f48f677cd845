// Package browser holds memwall's real-browser test: it starts Jupyter's
// classic Notebook server with the memwall kernel, opens a course notebook
// in headless Chromium, runs every cell through the page and checks that
// the text and the pictures are on it. Chromium is driven over the
// DevTools protocol with a minimal websocket client written with the
// standard library (websocket_test.go). Everything listens on 127.0.0.1.
//
//	go test ./tests/browser/            # screenshots in $MEMWALL_ARTIFACTS or test-artifacts/
package browser
