package api

import (
	"context"
	"errors"
	"io"
	"runtime"
	"sync"
	"time"
)

// limits bound the memory that requests can make the server hold before
// and while their bodies are decoded.
type limits struct {
	// mu guards inUse and freed: the body memory held, in bytes (size
	// at most), and the channel closed, and replaced, whenever some is
	// given back, which wakes the requests waiting for room.
	mu          sync.Mutex
	size, inUse int64
	freed       chan struct{}
	// overdraft lets one request at a time read past the budget (up to
	// the body limit): see budgeted.grow.
	overdraft chan struct{}
	// decoders bounds the trees being built at once.
	decoders chan struct{}
	wait     time.Duration
}

func newLimits(bodyMemory int64, wait time.Duration) *limits {
	return &limits{
		size:      bodyMemory,
		freed:     make(chan struct{}),
		overdraft: make(chan struct{}, 1),
		decoders:  make(chan struct{}, runtime.GOMAXPROCS(0)),
		wait:      wait,
	}
}

// take takes n bytes of body memory if they are free; if not, it
// returns the channel closed when some are next given back.
func (l *limits) take(n int64) (taken bool, freed <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inUse+n <= l.size {
		l.inUse += n
		return true, nil
	}
	return false, l.freed
}

// give gives n bytes of body memory back and wakes the waiting.
func (l *limits) give(n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inUse -= n
	close(l.freed)
	l.freed = make(chan struct{})
}

var errBusy = &apiError{503, "server busy: too many large requests in flight; retry shortly"}

// budgetChunk is how much body memory a request takes at a time as its
// body arrives: a share of the whole, 4 to 64 KiB.
func (l *limits) budgetChunk() int64 { return min(max(l.size/64, 4<<10), 64<<10) }

// budgeted reads a request's body holding a share of the body memory
// for the bytes it has returned, taken a chunk at a time as they arrive
// (4 KiB first, then doubling up to budgetChunk), each once a byte past
// what it holds has arrived. A slow or large body holds what it has
// sent and at most a chunk more, an idle one nothing, and a small body
// never queues behind a large one's reservation. When the budget is
// spent, one request at a time reads on past it (see grow), so the
// memory bodies hold is at most the budget plus one body of the limit.
// release gives it all back.
type budgeted struct {
	r          io.Reader
	l          *limits
	ctx        context.Context
	held, used int64
	overdraft  bool
}

// errBusyBody is the budget's refusal: a 503.
var errBusyBody = errors.New("server busy")

func (b *budgeted) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if !b.overdraft && b.held == b.used {
		// Room is taken once the client has sent a byte beyond what it
		// holds: a connection that sends headers and then nothing
		// holds no body memory.
		n, err := b.r.Read(p[:1])
		if n == 0 {
			return 0, err
		}
		if gerr := b.grow(); gerr != nil {
			return 0, gerr
		}
		b.used++
		return 1, err
	}
	if room := b.held - b.used; !b.overdraft && int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.r.Read(p)
	b.used += int64(n)
	return n, err
}

// grow takes the next chunk of the budget. When none is free, it takes
// the overdraft if no other request holds it: readers that each hold a
// part of the budget and wait for more would otherwise wait on each
// other until every one of them is refused; the overdraft's holder
// finishes and frees what it held. It waits at most l.wait for either,
// then errBusyBody.
func (b *budgeted) grow() error {
	// The first chunk is 4 KiB at most and each next one as large as
	// what the body holds, up to budgetChunk: a client that sends a
	// byte and stalls holds little.
	chunk := min(max(b.held, 4<<10), b.l.budgetChunk())
	var timeout *time.Timer // made only when the budget is short: most requests never wait
	defer func() {
		if timeout != nil {
			timeout.Stop()
		}
	}()
	for {
		taken, freed := b.l.take(chunk)
		if taken {
			b.held += chunk
			return nil
		}
		if timeout == nil {
			timeout = time.NewTimer(b.l.wait)
		}
		select {
		case b.l.overdraft <- struct{}{}:
			b.overdraft = true
			return nil
		case <-freed:
		case <-timeout.C:
			return errBusyBody
		case <-b.ctx.Done():
			return errBusyBody
		}
	}
}

func (b *budgeted) release() {
	if b.held == 0 && !b.overdraft {
		return
	}
	if b.overdraft {
		<-b.l.overdraft
		b.overdraft = false
	}
	b.l.give(b.held)
	b.held = 0
}

// startDecode waits, at most l.wait, for a decoder; endDecode frees it.
func (l *limits) startDecode(ctx context.Context) *apiError {
	select {
	case l.decoders <- struct{}{}: // a decoder is free: no timer to make
		return nil
	default:
	}
	t := time.NewTimer(l.wait)
	defer t.Stop()
	select {
	case l.decoders <- struct{}{}:
		return nil
	case <-ctx.Done():
		return errBusy
	case <-t.C:
		return errBusy
	}
}

func (l *limits) endDecode() { <-l.decoders }
