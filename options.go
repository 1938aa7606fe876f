package relgraph

import (
	"fmt"
	"strings"
	"time"

	"github.com/relgraph/relgraph/kv"
)

// Defaults for Options, applied in one place (Options.withDefaults).
const (
	DefaultOpenTimeout = time.Second
	DefaultMaxBatch    = 1024
)

// Options tune Open and OpenEngine. The zero value is a good default.
// The first four fields are the engine's: Open passes them to the engine
// it opens (kv.Options), and OpenEngine, which takes an engine already
// open, refuses them. A negative batch is refused at Open with an error
// beginning "invalid options:"; an engine's Config it cannot take, too.
type Options struct {
	// Timeout bounds the wait for a file held by another process; Open
	// then fails with an error saying so. Default 1s; negative waits
	// forever.
	Timeout time.Duration
	// NoSync skips fsync. Commits are then not durable: a machine crash
	// can lose them or corrupt the file. For tests and redoable loads.
	NoSync bool
	// ReadOnly opens the file for reading only, under a shared lock.
	ReadOnly bool
	// Engine is the engine's own configuration (kv.Options.Config): for a
	// store file a wal.Config (its log's checkpoints, and File, the
	// bbolt file's memory map and size cap), nil for the defaults. An
	// engine refuses a Config of another engine's type.
	Engine any

	// StrictMode runs Check inside every write transaction before it
	// commits, and refuses (rolls back) any commit that would leave a
	// violation, returning ErrCorrupt with the report. It costs a walk of
	// the whole store per commit: for tests and debugging.
	StrictMode bool
	// MaxBatch caps how many queued writes one group commit takes.
	// Default: what the engine prefers (kv.BatchSizer; 16 on etcd), else
	// 1024.
	MaxBatch int
	// PhoneRegion is the region (ISO 3166 code, such as "US" or "DE")
	// of phone numbers written without their country code, "(555)
	// 010-0001". Empty: such numbers are refused; every number must
	// carry its country code (+ or 00). See NormalizePhone.
	PhoneRegion string
}

// validate refuses impossible values, naming each.
func (o Options) validate() error {
	var bad []string
	if o.PhoneRegion != "" && !KnownPhoneRegion(o.PhoneRegion) {
		bad = append(bad, fmt.Sprintf("PhoneRegion %q is not a region of the phone numbering plan (ISO 3166, such as US or DE)", o.PhoneRegion))
	}
	if o.MaxBatch < 0 {
		bad = append(bad, fmt.Sprintf("MaxBatch %d is negative", o.MaxBatch))
	}
	if len(bad) > 0 {
		return invalidf("invalid options: %s", strings.Join(bad, "; "))
	}
	return nil
}

// engineFieldsSet names the engine's fields that are set, which
// OpenEngine refuses.
func (o Options) engineFieldsSet() []string {
	var set []string
	for _, f := range []struct {
		name string
		on   bool
	}{{"Timeout", o.Timeout != 0}, {"NoSync", o.NoSync}, {"ReadOnly", o.ReadOnly}, {"Engine", o.Engine != nil}} {
		if f.on {
			set = append(set, f.name)
		}
	}
	return set
}

// engine returns the engine's options, with the lock timeout's default.
func (o Options) engine() kv.Options {
	timeout := o.Timeout
	switch {
	case timeout == 0:
		timeout = DefaultOpenTimeout
	case timeout < 0:
		timeout = 0 // kv: wait forever
	}
	return kv.Options{LockTimeout: timeout, NoSync: o.NoSync, ReadOnly: o.ReadOnly, Config: o.Engine}
}

// withDefaults fills in the store's defaults for engine e.
func (o Options) withDefaults(e kv.Engine) Options {
	if o.MaxBatch == 0 {
		o.MaxBatch = DefaultMaxBatch
		if b, ok := e.(kv.BatchSizer); ok && b.MaxBatch() > 0 {
			o.MaxBatch = b.MaxBatch()
		}
	}
	return o
}
