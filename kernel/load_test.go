package kernel_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/memwall/memwall/kernel"
	"github.com/memwall/memwall/kernel/internal/toy"
)

// Load benchmarks: they report memory, never assert a speed.
//
//	go test -run '^$' -bench 'TenThousand|Soak' -benchtime 1x ./kernel/

// drainIOPub consumes c's iopub in the background (a client that keeps up)
// until the returned function is called.
func drainIOPub(c *testClient) (stop func() int64) {
	done := make(chan struct{})
	var n atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-c.iopubCh:
				n.Add(1)
			case <-done:
				return
			}
		}
	}()
	return func() int64 { close(done); wg.Wait(); return n.Load() }
}

func selfRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			var kb float64
			fmt.Sscan(strings.TrimSpace(rest), &kb)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkTenThousandExecutes sends 10,000 execute_requests back to back
// (each waits for its reply) and reports the live heap and the process RSS
// before and after: a leak per request shows up as growth.
func BenchmarkTenThousandExecutes(b *testing.B) {
	const n = 10000
	for i := 0; i < b.N; i++ {
		c := startKernel(b, kernelConfig{})
		stop := drainIOPub(c)
		run := func(k int) {
			for j := 0; j < k; j++ {
				id := c.send(c.shell, "execute_request", map[string]any{"code": "echo x", "silent": false})
				if r := c.reply(c.shellCh, id); r.str("status") != "ok" {
					b.Fatalf("execute %d: %v", j, r.Content)
				}
			}
		}
		run(200) // warm up: sockets, pools, first allocations
		heap0, rss0 := heapInUse(), selfRSS()
		start := time.Now()
		run(n)
		d := time.Since(start)
		heap1, rss1 := heapInUse(), selfRSS()
		got := stop()
		c.close()
		b.ReportMetric(float64(heap0)/(1<<20), "MiB-heap-before")
		b.ReportMetric(float64(heap1)/(1<<20), "MiB-heap-after")
		b.ReportMetric((float64(heap1)-float64(heap0))/n, "B-heap/exec")
		b.ReportMetric(rss0, "MiB-RSS-before")
		b.ReportMetric(rss1, "MiB-RSS-after")
		b.ReportMetric(float64(d.Microseconds())/n, "µs/exec")
		b.Logf("10k executes: heap %.1f → %.1f MiB, RSS %.1f → %.1f MiB, %d iopub messages, %v",
			float64(heap0)/(1<<20), float64(heap1)/(1<<20), rss0, rss1, got, d)
	}
}

// generator streams one token of tokenBytes every tick for dur, like a
// long %generate; with display it also updates a progress display each
// tick (as %generate's timing line does), which is not coalesced.
type generator struct {
	toy.Interp
	dur        time.Duration
	tick       time.Duration
	tokenBytes int
	display    bool
}

func (g generator) Execute(ctx context.Context, code string, out kernel.Output) error {
	if code != "generate" {
		return g.Interp.Execute(ctx, code, out)
	}
	tok := strings.Repeat("t", g.tokenBytes-1) + " "
	t := time.NewTicker(g.tick)
	defer t.Stop()
	end := time.After(g.dur)
	out.Display(kernel.Text("starting"), "progress")
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-end:
			return nil
		case <-t.C:
			out.Stream("stdout", tok)
			if g.display {
				out.Update(kernel.Text(fmt.Sprintf("token %d %s", i, strings.Repeat("=", 512))), "progress")
			}
		}
	}
}

// BenchmarkSoakSlowSubscriber streams a long generation to a subscriber
// that reads one iopub message every 100 ms (slower than the kernel
// publishes) and samples the kernel's live heap as it goes.
func BenchmarkSoakSlowSubscriber(b *testing.B) {
	for _, mode := range []struct {
		name    string
		display bool
	}{{"stream", false}, {"stream+display", true}} {
		b.Run(mode.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				soak(b, generator{dur: 8 * time.Second, tick: time.Millisecond, tokenBytes: 8, display: mode.display})
			}
		})
	}
}

func soak(b *testing.B, g generator) {
	c := startKernel(b, kernelConfig{interp: g})
	stop := drainIOPub(c)
	defer stop()
	slow := zmq4.NewSub(context.Background())
	defer slow.Close()
	if err := slow.Dial(c.ci.Endpoint(c.ci.IOPubPort)); err != nil {
		b.Fatal(err)
	}
	slow.SetOption(zmq4.OptionSubscribe, "")
	var slowGot atomic.Int64
	go func() {
		for {
			if _, err := slow.Recv(); err != nil {
				return
			}
			slowGot.Add(1)
			time.Sleep(100 * time.Millisecond)
		}
	}()
	time.Sleep(200 * time.Millisecond) // let the subscription reach the kernel (not a synchronisation the result depends on)
	base := heapInUse()
	id := c.send(c.shell, "execute_request", map[string]any{"code": "generate"})
	var peak uint64
	samples := 0
	deadline := time.After(g.dur + 30*time.Second)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case m := <-c.shellCh:
			if m.ParentID() == id {
				break wait
			}
		case <-tick.C:
			if h := heapInUse(); h > peak {
				peak = h
			}
			samples++
		case <-deadline:
			b.Fatal("the generation never finished")
		}
	}
	end := heapInUse()
	b.ReportMetric(float64(base)/(1<<20), "MiB-heap-start")
	b.ReportMetric(float64(peak)/(1<<20), "MiB-heap-peak")
	b.ReportMetric(float64(end)/(1<<20), "MiB-heap-end")
	b.ReportMetric(float64(slowGot.Load()), "msgs-slow-sub")
	b.Logf("soak %v: heap start %.1f MiB, peak %.1f MiB over %d samples, end %.1f MiB; slow subscriber read %d messages; RSS %.1f MiB",
		g.dur, float64(base)/(1<<20), float64(peak)/(1<<20), samples, float64(end)/(1<<20), slowGot.Load(), selfRSS())
}
