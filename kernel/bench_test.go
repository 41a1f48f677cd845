package kernel_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/google/uuid"
)

// Benchmarks report metrics; they assert nothing about timing.
//
//	go test -run '^$' -bench . -benchtime 200x ./kernel/

func BenchmarkExecuteRoundTrip(b *testing.B) {
	c := startKernel(b, kernelConfig{})
	var d []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		c.execute("echo x", nil)
		d = append(d, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds())/1000, "ms-p99")
}

func freePorts(tb testing.TB, n int) []int {
	var ports []int
	var ls []net.Listener
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// startProcess runs the test kernel binary and returns once it has answered
// a kernel_info_request, with the time that took.
func startProcess(b *testing.B, bin string) (*exec.Cmd, time.Duration) {
	p := freePorts(b, 5)
	key := uuid.NewString()
	ci := map[string]any{"transport": "tcp", "ip": "127.0.0.1", "shell_port": p[0], "control_port": p[1],
		"iopub_port": p[2], "stdin_port": p[3], "hb_port": p[4], "key": key, "signature_scheme": "hmac-sha256"}
	js, _ := json.Marshal(ci)
	path := filepath.Join(b.TempDir(), "conn.json")
	os.WriteFile(path, js, 0o600)

	start := time.Now()
	cmd := exec.Command(bin, "kernel", path)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	c := &testClient{t: b, session: uuid.NewString(), newHash: hashFor("hmac-sha256")}
	c.ci.Key = key
	shell := zmq4.NewDealer(context.Background(), zmq4.WithDialerRetry(time.Millisecond), zmq4.WithDialerMaxRetries(2000))
	defer shell.Close()
	if err := shell.Dial("tcp://127.0.0.1:" + strconv.Itoa(p[0])); err != nil {
		b.Fatal(err)
	}
	id := c.send(shell, "kernel_info_request", map[string]any{})
	if _, err := shell.Recv(); err != nil {
		b.Fatal(err)
	}
	_ = id
	return cmd, time.Since(start)
}

func stopProcess(cmd *exec.Cmd) {
	cmd.Process.Signal(os.Interrupt)
	cmd.Process.Kill()
	cmd.Wait()
}

func BenchmarkStartupToKernelInfo(b *testing.B) {
	bin := testKernelBinary(b)
	var d []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd, t := startProcess(b, bin)
		d = append(d, t)
		b.StopTimer()
		stopProcess(cmd)
		b.StartTimer()
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, "ms-median")
}

func BenchmarkIdleRSS(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc")
	}
	bin := testKernelBinary(b)
	var rss float64
	for i := 0; i < b.N; i++ {
		cmd, _ := startProcess(b, bin)
		time.Sleep(300 * time.Millisecond)
		rss = vmRSS(b, cmd.Process.Pid)
		stopProcess(cmd)
	}
	b.ReportMetric(rss, "MiB-RSS")
}

func vmRSS(b *testing.B, pid int) float64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
