package kernel

import (
	"context"
	"sync"
)

// msgQueue is an unbounded FIFO of shell requests waiting for the executor.
type msgQueue struct {
	mu     sync.Mutex
	items  []*message
	notify chan struct{}
}

func newMsgQueue() *msgQueue { return &msgQueue{notify: make(chan struct{}, 1)} }

func (q *msgQueue) push(m *message) {
	q.mu.Lock()
	q.items = append(q.items, m)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

func (q *msgQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// pop blocks until a message is queued or ctx is done.
func (q *msgQueue) pop(ctx context.Context) (*message, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			m := q.items[0]
			q.items[0] = nil
			q.items = q.items[1:]
			q.mu.Unlock()
			return m, true
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, false
		case <-q.notify:
		}
	}
}
