package api

import (
	"context"
	"net/http"
	"runtime"
	"time"

	"golang.org/x/sync/semaphore"
)

// limits bound the memory that requests can make the server hold before
// and while their bodies are decoded.
type limits struct {
	// bodies weighs the bodies being read and handled, in bytes.
	bodies *semaphore.Weighted
	// decoders bounds the trees being built at once.
	decoders chan struct{}
	wait     time.Duration
}

func newLimits(bodyMemory int64, wait time.Duration) *limits {
	return &limits{
		bodies:   semaphore.NewWeighted(bodyMemory),
		decoders: make(chan struct{}, runtime.GOMAXPROCS(0)),
		wait:     wait,
	}
}

var errBusy = &apiError{503, "server busy: too many large requests in flight; retry shortly"}

// reserveBody waits, at most l.wait, for room to hold r's body: its
// Content-Length, or maxBody when the client does not say or the body
// is compressed (it may decode to maxBody). It returns
// the release, or a 503.
func (l *limits) reserveBody(r *http.Request, maxBody int64, compressed bool) (release func(), e *apiError) {
	weight := maxBody
	if r.ContentLength >= 0 && r.ContentLength < maxBody && !compressed {
		weight = max(r.ContentLength, 1)
	}
	ctx, cancel := context.WithTimeout(r.Context(), l.wait)
	defer cancel()
	if err := l.bodies.Acquire(ctx, weight); err != nil {
		return nil, errBusy
	}
	return func() { l.bodies.Release(weight) }, nil
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
