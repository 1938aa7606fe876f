package relgraph

import (
	"errors"
	"fmt"

	"github.com/relgraph/relgraph/kv"
)

// Sentinels for errors.Is. Every error relgraph returns for a request is
// an *Error wrapping one of them; its Code is the wire code of SPEC §6.
var (
	// ErrInvalid: the request is malformed or breaks the schema (400).
	ErrInvalid = errors.New("invalid request")
	// ErrNotFound: a database, relation type, profile or relation does
	// not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request conflicts with stored data, such as a
	// duplicate email (409).
	ErrConflict = errors.New("conflict")
	// ErrAmbiguous: a locator matched more than one profile (409). It is
	// also an ErrConflict.
	ErrAmbiguous = errors.New("ambiguous match")
	// ErrCorrupt: stored bytes do not decode or break an invariant (500).
	ErrCorrupt = errors.New("store is corrupt")
	// ErrClosed: the store was closed (500).
	ErrClosed = errors.New("store is closed")
	// ErrStorage: the engine failed (I/O, disk full, lock); the
	// operation had no effect (500).
	ErrStorage = errors.New("storage failure")
	// ErrFormat: the file was written by an unknown format version, or is
	// not a relgraph store (500, at Open).
	ErrFormat = errors.New("unsupported store format")
)

// Error is a relgraph error: a wire code, a sentinel kind and a message
// naming what is wrong (the side, field or value).
type Error struct {
	Code int    // 400, 404, 409 or 500
	Kind error  // one of the sentinels above
	Msg  string // what is wrong, for people
	Err  error  // the underlying cause, if any (storage errors)
}

func (e *Error) Error() string {
	switch {
	case e.Err == nil:
		return e.Msg
	case e.Msg == "":
		return e.Err.Error()
	}
	return e.Msg + ": " + e.Err.Error()
}

// Is matches the sentinel kind; ErrAmbiguous also matches ErrConflict.
func (e *Error) Is(target error) bool {
	return target == e.Kind || (e.Kind == ErrAmbiguous && target == ErrConflict)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Code returns the wire code of err: 0 for nil, the code of an *Error,
// and 500 for anything else.
func Code(err error) int {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 500
}

func invalidf(format string, args ...any) error {
	return &Error{Code: 400, Kind: ErrInvalid, Msg: fmt.Sprintf(format, args...)}
}

func notFoundf(format string, args ...any) error {
	return &Error{Code: 404, Kind: ErrNotFound, Msg: fmt.Sprintf(format, args...)}
}

func conflictf(format string, args ...any) error {
	return &Error{Code: 409, Kind: ErrConflict, Msg: fmt.Sprintf(format, args...)}
}

func ambiguousf(format string, args ...any) error {
	return &Error{Code: 409, Kind: ErrAmbiguous, Msg: fmt.Sprintf(format, args...)}
}

func corruptf(format string, args ...any) error {
	return &Error{Code: 500, Kind: ErrCorrupt, Msg: fmt.Sprintf(format, args...)}
}

// cursorErr is the error that ended a cursor walk, as a storage error.
func cursorErr(c kv.Cursor) error {
	if err := c.Err(); err != nil {
		return storageErr("read", err)
	}
	return nil
}

// storageErr wraps an engine error: an I/O or engine failure, not the
// caller's fault.
func storageErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, kv.ErrCorrupt) {
		return &Error{Code: 500, Kind: ErrCorrupt, Msg: "storage: " + op, Err: err}
	}
	return &Error{Code: 500, Kind: ErrStorage, Msg: "storage: " + op, Err: err}
}
