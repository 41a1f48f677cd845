package kernel

import (
	"context"
	"sync"
	"time"
	"unicode/utf8"
)

// flushSize is the amount of buffered stream text that is published at
// once, without waiting for the stream interval.
const flushSize = 256 << 10

type streamChunk struct {
	name string
	text []byte
}

// cellOutput is the Output of one execute_request.
type cellOutput struct {
	k          *kernel
	parent     *message
	count      int
	silent     bool
	allowStdin bool
	comm       bool // the Output of a comm handler: Result is display_data

	mu         sync.Mutex
	closed     bool
	chunks     []streamChunk
	size       int
	timer      *time.Timer
	lastResult string
}

var _ Output = (*cellOutput)(nil)

func (o *cellOutput) lock() bool {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return false
	}
	return true
}

func (o *cellOutput) Stream(name, text string) {
	if o.silent || text == "" {
		return
	}
	if !o.lock() {
		return
	}
	defer o.mu.Unlock()
	if n := len(o.chunks); n > 0 && o.chunks[n-1].name == name {
		o.chunks[n-1].text = append(o.chunks[n-1].text, text...)
	} else {
		o.chunks = append(o.chunks, streamChunk{name: name, text: []byte(text)})
	}
	o.size += len(text)
	if o.size >= flushSize {
		o.flushLocked(false)
		return
	}
	if o.timer == nil {
		o.timer = time.AfterFunc(o.k.interval, o.timerFlush)
	}
}

func (o *cellOutput) timerFlush() {
	if !o.lock() {
		return
	}
	defer o.mu.Unlock()
	o.timer = nil
	o.flushLocked(false)
}

// flushLocked publishes buffered stream text. Unless final, an incomplete
// UTF-8 sequence at the very end stays buffered for the next flush.
func (o *cellOutput) flushLocked(final bool) {
	if o.timer != nil {
		o.timer.Stop()
		o.timer = nil
	}
	var keep []streamChunk
	for i, c := range o.chunks {
		text := c.text
		if !final && i == len(o.chunks)-1 {
			if t := incompleteTail(text); t > 0 {
				keep = []streamChunk{{name: c.name, text: append([]byte(nil), text[len(text)-t:]...)}}
				text = text[:len(text)-t]
			}
		}
		if len(text) > 0 {
			o.k.publish(o.parent, "stream", map[string]any{"name": c.name, "text": string(text)})
		}
	}
	o.chunks = keep
	o.size = 0
	if len(keep) > 0 {
		o.size = len(keep[0].text)
		o.timer = time.AfterFunc(o.k.interval, o.timerFlush)
	}
}

// incompleteTail returns the length of an incomplete UTF-8 sequence at the
// end of b (0 if b ends on a complete rune or with invalid bytes).
func incompleteTail(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return len(b) - i
			}
			return 0
		}
	}
	return 0
}

func (o *cellOutput) Display(b Bundle, displayID string) {
	if o.silent || !o.lock() {
		return
	}
	defer o.mu.Unlock()
	o.flushLocked(false)
	c := map[string]any{"data": bundleData(b), "metadata": bundleMetadata(b), "transient": map[string]any{}}
	if displayID != "" {
		c["transient"] = map[string]any{"display_id": displayID}
	}
	o.k.publish(o.parent, "display_data", c)
}

func (o *cellOutput) Update(b Bundle, displayID string) {
	if o.silent || displayID == "" || !o.lock() {
		return
	}
	defer o.mu.Unlock()
	o.flushLocked(false)
	o.k.publish(o.parent, "update_display_data", map[string]any{
		"data": bundleData(b), "metadata": bundleMetadata(b),
		"transient": map[string]any{"display_id": displayID},
	})
}

func (o *cellOutput) Clear(wait bool) {
	if o.silent || !o.lock() {
		return
	}
	defer o.mu.Unlock()
	o.flushLocked(false)
	o.k.publish(o.parent, "clear_output", map[string]any{"wait": wait})
}

func (o *cellOutput) Result(b Bundle) {
	if o.silent || !o.lock() {
		return
	}
	defer o.mu.Unlock()
	o.flushLocked(false)
	if o.comm {
		o.k.publish(o.parent, "display_data", map[string]any{"data": bundleData(b), "metadata": bundleMetadata(b), "transient": map[string]any{}})
		return
	}
	if s, ok := b.Data["text/plain"].(string); ok {
		o.lastResult = s
	}
	o.k.publish(o.parent, "execute_result", map[string]any{
		"execution_count": o.count, "data": bundleData(b), "metadata": bundleMetadata(b),
	})
}

func (o *cellOutput) Input(ctx context.Context, prompt string, password bool) (string, error) {
	if !o.allowStdin {
		return "", ErrStdinNotAllowed
	}
	if !o.lock() {
		return "", context.Canceled
	}
	o.flushLocked(true)
	o.mu.Unlock()
	return o.k.requestInput(ctx, o.parent, prompt, password)
}

// close publishes what is left and makes further calls no-ops.
func (o *cellOutput) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.closed {
		o.flushLocked(true)
		o.closed = true
	}
}

// requestInput sends input_request on stdin to the client that sent parent
// and waits for its input_reply.
func (k *kernel) requestInput(ctx context.Context, parent *message, prompt string, password bool) (string, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	k.inputMu.Lock()
	defer k.inputMu.Unlock()
	h := newHeader(k.session, "input_request")
	pi := &pendingInput{msgID: h.MsgID, ch: make(chan string, 1)}
	k.pendingMu.Lock()
	k.pending = pi
	k.pendingMu.Unlock()
	defer func() {
		k.pendingMu.Lock()
		k.pending = nil
		k.pendingMu.Unlock()
	}()
	k.send(k.stdin, parent.Idents, h, parent.RawHeader, map[string]any{"prompt": prompt, "password": password})
	select {
	case v := <-pi.ch:
		return v, nil
	case <-ctx.Done():
		return "", context.Cause(ctx)
	case <-k.ctx.Done():
		return "", context.Canceled
	}
}
