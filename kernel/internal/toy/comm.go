package toy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/memwall/memwall/kernel"
)

// CommInterp is the toy interpreter with comms: it registers the target
// "toy.echo" and understands three more cell commands,
//
//	commopen TARGET JSON   opens a comm from the kernel (data JSON), prints its id
//	commsend ID JSON       sends JSON on an open comm
//	commclose ID           closes it
//
// On a "toy.echo" comm (opened from either side) every comm_msg's data is
// an object whose "cmd" says what to do:
//
//	echo      send the data back (with the buffers, reversed in order)
//	stream    write data.text on stdout (through the handler's Output)
//	fail      return an error
//	panic     panic
//	sleep     wait data.ms milliseconds, cancellable
//	spin      busy loop until cancelled
//	close     close the comm from the kernel
//	stop      nothing, but its arrival interrupts what runs (Comm.InterruptOn)
//	count     add one to the handled counter; send it back unless more
//	          messages for this comm are queued (coalescing)
//
// A comm_open for "toy.echo" whose data has "reject": true fails.
type CommInterp struct {
	Interp
	comms   *kernel.Comms
	Handled atomic.Int64 // comm_msg handled on toy.echo comms
	Sent    atomic.Int64 // "count" replies sent
}

var _ kernel.CommUser = (*CommInterp)(nil)

// UseComms implements kernel.CommUser.
func (t *CommInterp) UseComms(c *kernel.Comms) {
	t.comms = c
	c.Register("toy.echo", func(ctx context.Context, cm *kernel.Comm, m kernel.CommMsg, out kernel.Output) error {
		var d map[string]any
		_ = json.Unmarshal(m.Data, &d)
		if d["reject"] == true {
			return errors.New("toy.echo: rejected")
		}
		t.attach(cm)
		return cm.Send(map[string]any{"opened": true, "data": d}, nil, nil)
	})
}

func (t *CommInterp) attach(cm *kernel.Comm) {
	cm.OnMsg(t.handle)
	cm.InterruptOn(func(data json.RawMessage) bool {
		var d map[string]any
		return json.Unmarshal(data, &d) == nil && d["cmd"] == "stop"
	})
	cm.OnClose(func(ctx context.Context, cm *kernel.Comm, m kernel.CommMsg, out kernel.Output) error {
		out.Stream("stdout", "closed "+cm.ID()+"\n")
		return nil
	})
}

func (t *CommInterp) handle(ctx context.Context, cm *kernel.Comm, m kernel.CommMsg, out kernel.Output) error {
	t.Handled.Add(1)
	var d map[string]any
	if err := json.Unmarshal(m.Data, &d); err != nil {
		return fmt.Errorf("toy.echo: data: %v", err)
	}
	switch d["cmd"] {
	case "echo":
		bufs := make([][]byte, len(m.Buffers))
		for i, b := range m.Buffers {
			bufs[len(bufs)-1-i] = b
		}
		return cm.Send(d, map[string]any{"echo": true}, bufs)
	case "stream":
		s, _ := d["text"].(string)
		out.Stream("stdout", s)
	case "fail":
		return &ToyError{Msg: "handler failed"}
	case "panic":
		panic("toy.echo handler panicked")
	case "sleep":
		ms, _ := d["ms"].(float64)
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(time.Duration(ms) * time.Millisecond):
		}
		return cm.Send(map[string]any{"slept": ms}, nil, nil)
	case "spin":
		for ctx.Err() == nil {
		}
		return context.Cause(ctx)
	case "stop":
		return cm.Send(map[string]any{"stopped": true}, nil, nil)
	case "close":
		return cm.Close(map[string]any{"bye": true})
	case "count":
		if cm.Pending() == 0 {
			t.Sent.Add(1)
			return cm.Send(map[string]any{"handled": t.Handled.Load()}, nil, nil)
		}
	default:
		return fmt.Errorf("toy.echo: unknown cmd %v", d["cmd"])
	}
	return nil
}

// Execute implements kernel.Interpreter: the toy language plus the comm
// commands.
func (t *CommInterp) Execute(ctx context.Context, code string, out kernel.Output) error {
	var rest []string
	for _, line := range strings.Split(code, "\n") {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch cmd {
		case "commopen":
			target, js, _ := strings.Cut(arg, " ")
			var data any
			if js != "" {
				if err := json.Unmarshal([]byte(js), &data); err != nil {
					return err
				}
			}
			cm, err := t.comms.Open(target, data, map[string]any{"version": "toy"}, [][]byte{[]byte("buf0")})
			if err != nil {
				return err
			}
			if target == "toy.echo" {
				t.attach(cm)
			}
			out.Stream("stdout", cm.ID()+"\n")
		case "commsend":
			id, js, _ := strings.Cut(arg, " ")
			var data any
			if err := json.Unmarshal([]byte(js), &data); err != nil {
				return err
			}
			cm := t.comms.Get(id)
			if cm == nil {
				return fmt.Errorf("no comm %s", id)
			}
			if err := cm.Send(data, nil, nil); err != nil {
				return err
			}
		case "commclose":
			cm := t.comms.Get(arg)
			if cm == nil {
				return fmt.Errorf("no comm %s", arg)
			}
			if err := cm.Close(nil); err != nil {
				return err
			}
		default:
			rest = append(rest, line)
		}
	}
	return t.Interp.Execute(ctx, strings.Join(rest, "\n"), out)
}
