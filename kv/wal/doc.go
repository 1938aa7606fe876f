// Package wal puts a durable log in front of bbolt: the engine relgraph
// opens store files with.
//
// A write transaction's commit appends one record (every key it wrote)
// to the log file, path-wal, and syncs it: one sequential write and one
// fdatasync, shared by all the writes of relgraph's group commit. The
// writes then live in an in-memory overlay that reads merge over the
// store file. In the background, a checkpoint writes the overlay into
// the store file (bbolt) in one large durable transaction, which also
// records the last record it holds; the log space behind it is then
// reused. bbolt only ever gets durable commits.
//
//   - Reads see every acknowledged write: a transaction reads the
//     overlay as of its Begin over a bbolt snapshot, paired so that no
//     checkpoint can fall between them.
//   - Memory is bounded: past Config.CheckpointBytes of overlay a
//     checkpoint starts, past four times that writers wait for one.
//   - Recovery: Open replays the log's records after the one the store
//     file holds. A torn tail ends the log; damage in its middle is an
//     error wrapping kv.ErrCorrupt, never skipped.
//   - A transaction of Config.BulkKeys keys or more (an import batch)
//     bypasses the log: it writes straight into a bbolt transaction,
//     whose durable commit is its acknowledgement (bulk.go).
//   - Close checkpoints everything and removes the log, so a closed
//     store is one file. bbolt's file lock, taken first, covers the log.
//
// What an acknowledged write survives: a kill (the log's record was
// written and synced before the answer), a power cut (the same sync; the
// tests cut power through a File that drops, keeps or tears what was not
// synced), and a full disk (a record that cannot be written fails, and
// the log's tail stays where it was; a checkpoint that cannot grow the
// store file leaves the writes in the log, which takes new ones until
// the overlay's bound, then refuses them). A failed sync is different:
// what reached the disk is then unknown, so the engine refuses every
// later write until it is reopened, and Open replays what the log holds.
//
// Importing the package registers it as the "file" scheme of kv.Open.
package wal
