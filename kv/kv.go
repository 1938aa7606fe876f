// Package kv is the storage seam of relgraph: a small transactional,
// ordered key-value interface over named keyspaces.
//
// Everything relgraph stores goes through this interface, so the same
// keys and transaction bodies can run on bbolt (package kv/bolt, the
// embedded default) or on a distributed transactional KV (kv/etcd). An
// engine must give serializable transactions: a writable transaction
// sees its own writes, and commits atomically or not at all.
//
// Values and keys returned by a transaction (Get, cursors) are valid only
// until the transaction ends and must not be modified; copy what outlives
// it. Keys and values passed to Put may be retained by the engine until
// the transaction ends and must not be modified by the caller meanwhile.
//
// Beyond Engine, an engine may offer optional capabilities, each an
// interface of this package that the store tests for, as database/sql
// does with its drivers' optional interfaces: Snapshotter (a consistent
// copy to a writer), Compacter (a compacted copy to a new file),
// FileChecker (a check of the engine's own file structure), BatchSizer
// (the group-commit batch it prefers), BatchGatherer (how long a batch
// may wait for more writers), Metered (counters of its own, for
// the store's metrics), Shared (other processes write it too) and, for
// transactions, AsyncCommitter, Validator and Prefetcher (a commit
// whose durability can be waited for apart). Engines make themselves
// known to Open by a URL scheme with Register; what only one engine
// knows it takes as its own Config (Options.Config).
package kv

import (
	"context"
	"errors"
	"io"
	"time"
)

// Keyspace names one ordered byte map. Engines create every keyspace
// they are given at open time; a keyspace not given is an error to use.
type Keyspace string

// ErrConflict is returned by Commit when an optimistic engine detected a
// concurrent change to something the transaction read. The caller may
// re-run the whole transaction. bbolt never returns it.
var ErrConflict = errors.New("kv: transaction conflict")

// ErrTooLarge is returned by Commit when the transaction is over the
// engine's size limits (etcd's --max-txn-ops, --max-request-bytes).
// Nothing was written. relgraph's committer then commits the batch in
// halves, halving again down to single requests.
var ErrTooLarge = errors.New("kv: transaction over the engine's size limits")

// ErrCorrupt is wrapped by the errors of engine calls that found the
// stored data damaged (a page that does not parse, a read that faulted).
// The call had no effect; a writable transaction that met it cannot
// commit.
var ErrCorrupt = errors.New("the store file is damaged")

// ErrForeign is wrapped by the errors of an engine's open when what it
// finds is not a store of this application: another program's file, or
// an unexpected keyspace.
var ErrForeign = errors.New("not a store file of this application")

// ErrTxClosed is returned by any use of a transaction after Commit or
// Rollback.
var ErrTxClosed = errors.New("kv: transaction closed")

// ErrLocked is wrapped by the error of an engine's open when another
// process holds the store (its file lock) past the lock timeout.
var ErrLocked = errors.New("store file is locked by another process")

// ErrReadOnly is returned by Put and Delete on a read-only transaction.
var ErrReadOnly = errors.New("kv: transaction is read-only")

// Engine is a transactional ordered KV store.
type Engine interface {
	// Begin starts a transaction. A writable transaction excludes other
	// writable ones on engines that lock (bbolt), or is validated at
	// commit on optimistic ones (etcd). A transaction reads one
	// consistent snapshot, taken no earlier than Begin and no later than
	// its first read; read-only transactions may run concurrently. ctx
	// bounds the transaction's waits on a remote engine (its reads and
	// commit); a local engine checks it at Begin only. On bbolt, a
	// commit that grows the file past its memory map waits until every
	// open read transaction ends: keep reads short, or size the map.
	Begin(ctx context.Context, writable bool) (Txn, error)
	// Close releases the engine. Open transactions must be ended first.
	Close() error
}

// Tx is what transaction bodies use: reads and writes, no ending.
type Tx interface {
	// Get returns the value at key, or nil if there is none.
	Get(ks Keyspace, key []byte) ([]byte, error)
	// Put sets key to value. Empty values are allowed and are distinct
	// from absence. The engine may keep key and value until the
	// transaction ends (bbolt keeps value until its commit): the caller
	// must not change them before then.
	Put(ks Keyspace, key, value []byte) error
	// Delete removes key; deleting an absent key is not an error.
	Delete(ks Keyspace, key []byte) error
	// Cursor returns a cursor over the keyspace. Writes to the keyspace
	// while a cursor is in use invalidate its position: collect keys
	// first, then write.
	Cursor(ks Keyspace) (Cursor, error)
	// Writable reports whether Put and Delete are allowed.
	Writable() bool
}

// Txn is a transaction as the engine hands it out: a Tx that can end.
type Txn interface {
	Tx
	// Commit makes every write durable and visible, or none of them.
	Commit() error
	// Rollback discards the transaction. It is safe to call after Commit
	// (it then does nothing and returns ErrTxClosed).
	Rollback() error
}

// Cursor walks one keyspace forward in byte order. Each method returns
// the key and value it lands on, or a nil key when it runs off the end.
type Cursor interface {
	First() (key, value []byte)
	// Seek moves to the first key >= seek.
	Seek(seek []byte) (key, value []byte)
	Next() (key, value []byte)
	// Err is the error that ended the walk early (a nil key), if any:
	// check it after every loop. Local engines fail here only on a
	// damaged file; remote ones can on the network.
	Err() error
}

// Snapshotter is an engine that can write a consistent copy of all its
// data, from one read snapshot, while writers go on.
type Snapshotter interface {
	// Snapshot writes the copy to w and returns the bytes written. What
	// it writes is what the engine opens: for bbolt, a store file.
	Snapshot(ctx context.Context, w io.Writer) (int64, error)
}

// Compacter is an engine kept in a file that can write a compacted copy
// of itself (no free space) to a new file.
type Compacter interface {
	// Compact writes the copy to the file at dst, which must not exist:
	// it creates dst exclusively (an existing file is an error wrapping
	// os.ErrExist, and is left as it was) and removes it again if the
	// copy fails. It never removes or overwrites a file it did not make.
	// ctx bounds what comes before the copy (a log engine's checkpoint)
	// and is checked before it starts; a copy begun runs to its end.
	Compact(ctx context.Context, dst string) error
}

// FileChecker is an engine kept in a file that can check the file's own
// structure (pages, free lists) beneath the keyspaces.
type FileChecker interface {
	// CheckFile returns every problem it finds; none means the file's
	// structure is sound. It reads the whole file; ctx is checked between
	// its passes, and one that ended is reported as a problem.
	CheckFile(ctx context.Context) []error
}

// AsyncCommitter is a transaction that can commit in two steps.
// CommitAsync makes its writes the base of the next writable
// transaction and starts making them durable; the wait it returns ends
// when they are durable, or failed. Read-only transactions see the
// writes only once durable. Waits end in commit order: if one fails,
// every later one fails too. A committer that waits for one
// transaction's durability while it runs the next gets a pipeline, as
// relgraph's group commit does on kv/wal.
type AsyncCommitter interface {
	CommitAsync() (wait func() error, err error)
}

// Validator is a writable transaction that may answer reads from a
// cache its commit validates (etcd's read cache), so that what it read
// is known to have been current together only once it commits. A
// transaction that will not commit (its work failed, or wrote nothing)
// calls Validate before it reports what it found: kv.ErrConflict means
// something it read was stale, and the work must run again.
type Validator interface {
	Validate() error
}

// BatchGatherer is an engine whose commit is a long round trip (etcd:
// a consensus round and the members' fsyncs), of which one carrying
// many writes costs little more than one carrying few. While writes
// come from many writers, the group commit then waits up to
// BatchLinger for more of them to join a batch, as long as they keep
// arriving (each within a quarter of it); a lone writer never waits.
type BatchGatherer interface {
	BatchLinger() time.Duration
}

// Prefetcher is a transaction that can read many keys in one request.
// On a remote engine every Get is a round trip; Prefetch reads, in one,
// the given keys the transaction has not read yet, at its snapshot, so
// the Gets of them that follow are answered locally. It is a hint: what
// it does not fetch, Get still reads. Local engines, whose reads are
// memory and page cache, do not implement it.
type Prefetcher interface {
	Prefetch(keys []Key) error
}

// Key names one key of one keyspace.
type Key struct {
	Keyspace Keyspace
	Key      []byte
}

// BatchSizer is an engine that prefers a bound on how many writes one
// commit carries (etcd's request limits); the store uses it unless its
// options set one.
type BatchSizer interface {
	MaxBatch() int
}

// Shared is an engine that other processes can write while this one has
// it open (etcd), unlike a store file, which one process holds under a
// lock. What a store caches between transactions (its schema) can then
// change under it: the store re-validates it in every transaction, at
// the cost of one read there.
type Shared interface {
	SharedWriters() bool
}
