package kv

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Options are what every engine is opened with; what only one engine
// knows (a file's memory map, a log's checkpoints) is its own Config,
// given in Config. An engine's package says which options apply to it.
type Options struct {
	// ReadOnly opens for reading only (a file under a shared lock).
	ReadOnly bool
	// LockTimeout bounds the wait for a store held by another process;
	// zero waits forever.
	LockTimeout time.Duration
	// NoSync skips fsync on commit: not durable, for tests and redoable
	// loads.
	NoSync bool
	// Config is the engine's own configuration: a value (or pointer) of
	// the Config type of its package (wal.Config for store files), nil
	// for its defaults. An engine refuses another type, and a Config it
	// cannot take, with an error wrapping ErrConfig.
	Config any
}

// ErrConfig is wrapped by an engine's open error for a Config it
// refuses: of another engine's type, or with impossible values.
var ErrConfig = errors.New("invalid engine configuration")

// ConfigAs is an Options.Config as the engine's own Config type T: the
// zero T for nil, the T given as a T or a *T. Another type is an error
// wrapping ErrConfig that says what engine wants what (want, such as
// "a store file takes a wal.Config").
func ConfigAs[T any](c any, want string) (T, error) {
	var cfg T
	switch c := c.(type) {
	case nil:
	case T:
		cfg = c
	case *T:
		cfg = *c
	default:
		return cfg, fmt.Errorf("%w: %s, not %T", ErrConfig, want, c)
	}
	return cfg, nil
}

// Opener opens the engine named by a store location: a URL of the
// scheme it was registered for, or, for the "file" scheme, a path. It
// must create every keyspace given.
type Opener func(location string, keyspaces []Keyspace, opts Options) (Engine, error)

var (
	openersMu sync.RWMutex
	openers   = map[string]Opener{}
)

// Register makes an engine known to Open by the scheme of its URLs
// ("etcd" for etcd://…), as database/sql drivers register a name; an
// engine package calls it from its init. Registering a scheme twice
// panics.
func Register(scheme string, open Opener) {
	openersMu.Lock()
	defer openersMu.Unlock()
	if _, dup := openers[scheme]; dup {
		panic("kv: Register called twice for scheme " + scheme)
	}
	openers[scheme] = open
}

// Open opens the engine that location names: a URL scheme://… of a
// registered engine, or else a file path, opened by the engine
// registered as "file" (kv/wal, bbolt behind a log, when the program
// imports it, as relgraph does).
func Open(location string, keyspaces []Keyspace, opts Options) (Engine, error) {
	scheme := "file"
	if s, _, ok := strings.Cut(location, "://"); ok {
		scheme = s
	}
	openersMu.RLock()
	open, ok := openers[scheme]
	openersMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%s: %w for %q locations in this program (known: %s); an engine's package registers itself when imported, as kv/etcd does for etcd://", location, ErrNoEngine, scheme, strings.Join(Schemes(), ", "))
	}
	return open(location, keyspaces, opts)
}

// ErrNoEngine is wrapped by Open's error for a location whose scheme no
// engine of the program registered.
var ErrNoEngine = errors.New("no engine")

// Schemes lists the registered schemes, sorted.
func Schemes() []string {
	openersMu.RLock()
	defer openersMu.RUnlock()
	out := make([]string, 0, len(openers))
	for s := range openers {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
