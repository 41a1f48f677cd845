package kernel_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// BenchmarkManyKernelsOneCopy starts N real memwall kernel processes on
// the same synthetic stories110M checkpoint, has each %load it and
// generate a few tokens, and reports the sum of their proportional set
// sizes (PSS, from /proc/PID/smaps_rollup) against N × the file size: the
// weights are mapped read-only from the page cache, so N kernels should
// share one copy. It prints numbers; nothing about speed is asserted.
//
//	go test -run '^$' -bench ManyKernels -benchtime 1x ./kernel/
func BenchmarkManyKernelsOneCopy(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc/PID/smaps_rollup")
	}
	const n = 4
	dir := b.TempDir()
	bin := filepath.Join(dir, "memwall")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/memwall").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	model := filepath.Join(dir, "s110.bin")
	if out, err := exec.Command(bin, "gen", "--shape", "stories110M", "-o", model).CombinedOutput(); err != nil {
		b.Fatalf("memwall gen: %v\n%s", err, out)
	}
	st, err := os.Stat(model)
	if err != nil {
		b.Fatal(err)
	}
	fileMiB := float64(st.Size()) / (1 << 20)
	for i := 0; i < b.N; i++ {
		var pss, rss, pssFile, pssAnon float64
		var cmds []*exec.Cmd
		for k := 0; k < n; k++ {
			cmd, c := startMemwall(b, bin, dir)
			cmds = append(cmds, cmd)
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			for _, code := range []string{"%load " + model, "%generate -n 4 -t 0 Once upon a time"} {
				r, _ := c.executeWithin(code, 2*time.Minute)
				if r.str("status") != "ok" {
					b.Fatalf("kernel %d: %s: %v", k, code, r.Content)
				}
			}
			defer c.closeSockets()
		}
		for k, cmd := range cmds {
			m := smapsRollup(b, cmd.Process.Pid)
			b.Logf("kernel %d (pid %d): Rss %.1f MiB, Pss %.1f MiB (file %.1f, anon %.1f)",
				k, cmd.Process.Pid, m["Rss"], m["Pss"], m["Pss_File"], m["Pss_Anon"])
			pss += m["Pss"]
			rss += m["Rss"]
			pssFile += m["Pss_File"]
			pssAnon += m["Pss_Anon"]
		}
		b.Logf("%d kernels on one %.0f MiB checkpoint: total PSS %.1f MiB (file %.1f, anon %.1f), total RSS %.1f MiB, N × file %.0f MiB",
			n, fileMiB, pss, pssFile, pssAnon, rss, n*fileMiB)
		b.ReportMetric(pss, "MiB-PSS-total")
		b.ReportMetric(pssFile, "MiB-PSS-file")
		b.ReportMetric(rss, "MiB-RSS-total")
		b.ReportMetric(n*fileMiB, "MiB-N×file")
		b.ReportMetric(pss/(n*fileMiB), "PSS/(N×file)")
	}
}

// startMemwall runs `memwall kernel` on a fresh connection file and
// returns it with a connected, ready client.
func startMemwall(b *testing.B, bin, workDir string) (*exec.Cmd, *testClient) {
	p := freePorts(b, 5)
	ci := map[string]any{"transport": "tcp", "ip": "127.0.0.1", "shell_port": p[0], "control_port": p[1],
		"iopub_port": p[2], "stdin_port": p[3], "hb_port": p[4], "key": uuid.NewString(), "signature_scheme": "hmac-sha256"}
	js, _ := json.Marshal(ci)
	path := filepath.Join(b.TempDir(), "conn.json")
	if err := os.WriteFile(path, js, 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "kernel", path)
	cmd.Dir = workDir
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(workDir, "cache"))
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	c := &testClient{t: b, session: uuid.NewString(), id: uuid.NewString(), newHash: hashFor("hmac-sha256")}
	c.ci.Transport, c.ci.IP, c.ci.Key = "tcp", "127.0.0.1", ci["key"].(string)
	c.ci.ShellPort, c.ci.ControlPort, c.ci.IOPubPort, c.ci.StdinPort, c.ci.HBPort = p[0], p[1], p[2], p[3], p[4]
	// The process binds asynchronously; zmq4 dials retry until it listens.
	c.connect()
	c.waitReady()
	return cmd, c
}

// executeWithin is execute with a longer bound on the reply.
func (c *testClient) executeWithin(code string, d time.Duration) (*wireMsg, []*wireMsg) {
	c.t.Helper()
	id := c.send(c.shell, "execute_request", map[string]any{"code": code, "silent": false, "store_history": true,
		"user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true})
	deadline := time.After(d)
	for {
		select {
		case m := <-c.shellCh:
			if m.ParentID() == id {
				return m, c.iopubUntilIdle(id)
			}
		case <-deadline:
			c.t.Fatalf("no reply to %q within %v", code, d)
			return nil, nil
		}
	}
}

// smapsRollup reads /proc/PID/smaps_rollup, in MiB.
func smapsRollup(b *testing.B, pid int) map[string]float64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	out := map[string]float64{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
		if kb, err := strconv.ParseFloat(v, 64); err == nil {
			out[k] = kb / 1024
		}
	}
	return out
}
