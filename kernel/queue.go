package kernel

import (
	"context"
	"encoding/json"
	"sync"
)

// msgQueue is an unbounded FIFO of shell requests waiting for the executor.
type msgQueue struct {
	mu     sync.Mutex
	items  []*message
	comms  map[string]int // queued comm_msg per comm_id
	notify chan struct{}
}

func newMsgQueue() *msgQueue {
	return &msgQueue{notify: make(chan struct{}, 1), comms: map[string]int{}}
}

// tagComm records the comm_id of a comm_msg in m.commID.
func tagComm(m *message) {
	if m.Header.MsgType == "comm_msg" && m.commID == "" {
		var c struct {
			CommID string `json:"comm_id"`
		}
		_ = json.Unmarshal(m.Content, &c)
		m.commID = c.CommID
	}
}

// push queues m; a comm_msg is counted by the m.commID its reader set
// (tagComm).
func (q *msgQueue) push(m *message) {
	q.mu.Lock()
	q.items = append(q.items, m)
	if m.commID != "" {
		q.comms[m.commID]++
	}
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

// pendingFor is the number of queued comm_msg for commID.
func (q *msgQueue) pendingFor(commID string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.comms[commID]
}

// pop blocks until a message is queued or ctx is done.
func (q *msgQueue) pop(ctx context.Context) (*message, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			m := q.items[0]
			q.items[0] = nil
			q.items = q.items[1:]
			if m.commID != "" {
				if q.comms[m.commID]--; q.comms[m.commID] <= 0 {
					delete(q.comms, m.commID)
				}
			}
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
