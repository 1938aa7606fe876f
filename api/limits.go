package api

import (
	"context"
	"errors"
	"io"
	"runtime"
	"time"

	"golang.org/x/sync/semaphore"
)

// limits bound the memory that requests can make the server hold before
// and while their bodies are decoded.
type limits struct {
	// bodies weighs the bodies being read and handled, in bytes (size
	// of them at most).
	bodies *semaphore.Weighted
	size   int64
	// decoders bounds the trees being built at once.
	decoders chan struct{}
	wait     time.Duration
}

func newLimits(bodyMemory int64, wait time.Duration) *limits {
	return &limits{
		size:     bodyMemory,
		bodies:   semaphore.NewWeighted(bodyMemory),
		decoders: make(chan struct{}, runtime.GOMAXPROCS(0)),
		wait:     wait,
	}
}

var errBusy = &apiError{503, "server busy: too many large requests in flight; retry shortly"}

// budgetChunk is how much body memory a request takes at a time as its
// body arrives: a share of the whole, 4 to 64 KiB.
func (l *limits) budgetChunk() int64 { return min(max(l.size/64, 4<<10), 64<<10) }

// budgeted reads a request's body holding a share of the body memory
// for the bytes it has returned, taken a chunk at a time as they arrive
// (waiting at most l.wait for each; then errBusyBody). A slow or large
// body holds only what it has sent, and a small body never queues
// behind a large one's reservation. release gives it all back.
type budgeted struct {
	r          io.Reader
	l          *limits
	ctx        context.Context
	held, used int64
}

// errBusyBody is the budget's refusal: a 503.
var errBusyBody = errors.New("server busy")

func (b *budgeted) Read(p []byte) (int, error) {
	if b.held == b.used {
		chunk := b.l.budgetChunk()
		ctx, cancel := context.WithTimeout(b.ctx, b.l.wait)
		err := b.l.bodies.Acquire(ctx, chunk)
		cancel()
		if err != nil {
			return 0, errBusyBody
		}
		b.held += chunk
	}
	if room := b.held - b.used; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.r.Read(p)
	b.used += int64(n)
	return n, err
}

func (b *budgeted) release() {
	b.l.bodies.Release(b.held)
	b.held = 0
}

// startDecode waits, at most l.wait, for a decoder; endDecode frees it.
func (l *limits) startDecode(ctx context.Context) *apiError {
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
