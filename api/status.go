package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/relgraph/relgraph"
)

// statuses maps the kinds of relgraph errors to the wire codes of the
// platform's API (docs/spec.md, "Errors"): the HTTP status of the
// answer, and its error field. Kinds not listed (storage, corruption,
// a closed store, format) are the server's fault: 500. A request whose
// client went away before its write was queued is 499 (nginx's "client
// closed request"; nobody reads it), one that ran out of time 503.
var statuses = []struct {
	kind   error
	status int
}{
	{relgraph.ErrInvalid, 400},
	{relgraph.ErrNotFound, 404},
	{relgraph.ErrConflict, 409}, // ErrAmbiguous is also an ErrConflict
	{context.Canceled, 499},
	{context.DeadlineExceeded, 503},
}

// statusOf returns the wire code of err: 0 for nil.
func statusOf(err error) int {
	if err == nil {
		return 0
	}
	for _, s := range statuses {
		if errors.Is(err, s.kind) {
			return s.status
		}
	}
	return 500
}

// invalidf is a 400: a parameter of the request is wrong.
func invalidf(format string, args ...any) error {
	return &relgraph.Error{Kind: relgraph.ErrInvalid, Msg: fmt.Sprintf(format, args...)}
}

// notFoundf is a 404 naming what is missing.
func notFoundf(format string, args ...any) error {
	return &relgraph.Error{Kind: relgraph.ErrNotFound, Msg: fmt.Sprintf(format, args...)}
}
