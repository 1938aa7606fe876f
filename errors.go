package relgraph

import (
	"context"
	"errors"
	"fmt"

	"github.com/relgraph/relgraph/kv"
)

// Sentinels for errors.Is. Every error relgraph returns is an *Error
// whose Kind is one of them, but for a context's own error (a write
// whose ctx ended while it was queued, a View whose engine gave up),
// which is returned as it is: errors.Is(err, context.Canceled). They say what happened; the HTTP layer
// (package api) maps them to wire codes.
var (
	// ErrInvalid: the request is malformed or breaks the schema.
	ErrInvalid = errors.New("invalid request")
	// ErrNotFound: a database, relation type, profile or relation does
	// not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request conflicts with stored data, such as a
	// duplicate email.
	ErrConflict = errors.New("conflict")
	// ErrAmbiguous: a locator matched more than one profile. It is also
	// an ErrConflict.
	ErrAmbiguous = errors.New("ambiguous match")
	// ErrCorrupt: stored bytes do not decode or break an invariant, or
	// the store file is damaged.
	ErrCorrupt = errors.New("store is corrupt")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store is closed")
	// ErrStorage: the engine failed (I/O, disk full, lock, too many
	// conflicts with other writers); the operation had no effect.
	ErrStorage = errors.New("storage failure")
	// ErrFormat: the file was written by another format version, or is
	// not a relgraph store (at Open).
	ErrFormat = errors.New("unsupported store format")
	// ErrLocked: another process holds the store file (a running
	// server, a tool) past Options.Timeout. It is also an ErrStorage;
	// nothing is wrong with the disk: stop the other process, or reach
	// the store through it.
	ErrLocked = errors.New("store is locked by another process")
	// ErrChangesDropped: the changes a feed consumer asked for were
	// dropped by retention (or by turning the feed off), so it cannot
	// resume without a gap. The message names the oldest change kept.
	ErrChangesDropped = errors.New("changes dropped")
)

// Error is a relgraph error: its kind (one of the sentinels above), a
// message naming what is wrong (the side, field or value), and the
// underlying cause, if any.
type Error struct {
	Kind error  // one of the sentinels above
	Msg  string // what is wrong, for people; may be empty when Err says it
	Err  error  // the underlying cause, if any (storage errors)
	// parts are the problems an error listing several holds
	// (joinProblems), so that lists join flat.
	parts []error
}

// Error is Msg, then the cause it wraps (either alone when the other
// is empty).
func (e *Error) Error() string {
	switch {
	case e.Err == nil:
		return e.Msg
	case e.Msg == "":
		return e.Err.Error()
	}
	return e.Msg + ": " + e.Err.Error()
}

// Is matches the sentinel kind; ErrAmbiguous also matches ErrConflict,
// and ErrLocked ErrStorage.
func (e *Error) Is(target error) bool {
	return target == e.Kind || (e.Kind == ErrAmbiguous && target == ErrConflict) || (e.Kind == ErrLocked && target == ErrStorage)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// isRequestError reports whether err is the request's fault (invalid,
// not found, a conflict) rather than the store's.
func isRequestError(err error) bool {
	return errors.Is(err, ErrInvalid) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict)
}

func newError(kind, cause error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...), Err: cause}
}

func invalidf(format string, args ...any) error { return newError(ErrInvalid, nil, format, args...) }

func notFoundf(format string, args ...any) error { return newError(ErrNotFound, nil, format, args...) }

func conflictf(format string, args ...any) error { return newError(ErrConflict, nil, format, args...) }

func ambiguousf(format string, args ...any) error {
	return newError(ErrAmbiguous, nil, format, args...)
}

func corruptf(format string, args ...any) error { return newError(ErrCorrupt, nil, format, args...) }

func closedf(format string, args ...any) error { return newError(ErrClosed, nil, format, args...) }

func formatf(format string, args ...any) error { return newError(ErrFormat, nil, format, args...) }

// cursorErr is the error that ended a cursor walk, as a storage error.
func cursorErr(c kv.Cursor) error {
	if err := c.Err(); err != nil {
		return storageErr("read", err)
	}
	return nil
}

// storageErr wraps an engine error: an I/O or engine failure, not the
// caller's fault, or damage the engine found (ErrCorrupt).
func storageErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	switch {
	case errors.Is(err, kv.ErrCorrupt):
		return newError(ErrCorrupt, err, "storage: %s", op)
	case errors.Is(err, kv.ErrReadOnly):
		// Misuse, not a failing disk: a write in View, or in a store
		// opened ReadOnly.
		return newError(ErrInvalid, err, "%s: a write in a read-only transaction (View, or a store opened with ReadOnly): write in Update", op)
	case errors.Is(err, kv.ErrTxClosed):
		return newError(ErrInvalid, err, "%s: the transaction has ended: use a Tx only inside the function it was given to", op)
	}
	return newError(ErrStorage, err, "storage: %s", op)
}

// openErr gives an engine's open error its kind. The engine's error
// names the store.
func openErr(err error) error {
	switch {
	case errors.Is(err, kv.ErrForeign):
		return &Error{Kind: ErrFormat, Err: err}
	case errors.Is(err, kv.ErrCorrupt):
		return &Error{Kind: ErrCorrupt, Err: err}
	case errors.Is(err, kv.ErrLocked):
		return &Error{Kind: ErrLocked, Err: err}
	case errors.Is(err, kv.ErrReadOnly), errors.Is(err, kv.ErrNoEngine):
		return &Error{Kind: ErrInvalid, Err: err}
	case errors.Is(err, kv.ErrConfig):
		return &Error{Kind: ErrInvalid, Msg: "invalid options: Engine", Err: err}
	}
	return &Error{Kind: ErrStorage, Err: err}
}

// beginErr gives an error of Begin its kind: a context's error is
// returned as it is.
func beginErr(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return storageErr("begin", err)
}
