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
//   - A transaction of Config.BulkKeys keys or more (an import batch)
//     bypasses the log: it writes straight into a bbolt transaction,
//     whose durable commit is its acknowledgement (bulk.go).
//   - Close checkpoints everything and removes the log, so a closed
//     store is one file. bbolt's file lock, taken first, covers the log.
//
// The files, by what they hold: record.go the log's bytes (drawn
// there), state.go what the store file records of its log, file.go the
// File the log is written through, writer.go how it is written and
// grown, reader.go how it is read back and what counts as damage
// (legacy.go for the version before), engine.go the engine itself (its
// config, its locks and their order, open, close, Begin), recovery.go
// what Open does with a log a crash left, txn.go the transactions,
// commit.go the log's commit pipeline, checkpoint.go and bulk.go the two
// ways writes reach the store file, overlay.go the in-memory versions,
// copies.go snapshots and compacted copies, metrics.go its counters.
//
// # What survives what
//
// The store file records every change of the log's session, pass and
// liveness before the log acts on it (state.go), so Open knows which
// records its log must hold. Then:
//
//   - A kill loses nothing acknowledged: a record is written and synced
//     before its commit returns.
//   - A power cut loses nothing acknowledged, whatever the disk did with
//     what was not synced: lost it, kept it, tore it, or wrote a later
//     page and not an earlier one. The writer leaves at most two records
//     written and not synced (window), so damage among the last two
//     records is a torn tail, and a commit caught in it is wholly there
//     or wholly absent.
//   - A full disk: a commit whose record cannot be given room fails and
//     changes nothing; once the store file holds every record, the log
//     starts again from its beginning in the space it has, so writes go
//     on while the store file has room. A bulk commit is answered by its
//     store-file commit. A checkpoint that cannot grow the store file
//     leaves the writes in the log, which takes new ones until the
//     overlay's bound, then refuses them.
//   - A failed write or sync of the log: what reached the disk is
//     unknown, so the engine refuses every later write until it is
//     reopened, and Open reads what the log holds.
//   - A read error at Open is an error; nothing is changed.
//   - A flipped bit in a region header loses nothing (the records are
//     found without it); in a record the store file already holds,
//     nothing either. In a record the log must still hold it is damage,
//     refused with a *Damage — unless it is among the last two, where it
//     cannot be told from a torn tail and those records are dropped as a
//     crash would drop them.
//   - A flipped bit in the store file's record of its log (its id, last
//     record, session): an error, never another session; each value is
//     sealed with a CRC-32C.
//   - A log that is missing, cut short, or from a later copy of the
//     store, beside a store file that says it holds records: refused
//     with a *Damage naming what would be lost. A log whose region
//     header names another store: refused, and left as it is. A file at
//     the log's path that is not recognizably a log (no header, no record
//     of this store) is never truncated: refused beside a store file
//     that says its log holds records, or that is from before log
//     sessions; beside one that holds every write (after a clean Close,
//     or a session's start torn by a power cut, which can leave the
//     file's first page garbage) moved aside whole by a writable Open
//     (Recovery.Unrecognized) and not read by a read-only one.
//
// A refused log is repaired only on request: Config.AcceptLoss (the
// command's recover -accept-loss) keeps the records that check out, in
// order, drops the rest, moves the damaged log aside and says in
// Recovery exactly which records it dropped. The store file takes the
// records kept before the log is moved, so a crash during the repair
// loses none of them.
//
// A cursor does not outlive its transaction: after Rollback, Commit or
// the transaction's turn to bulk, a move ends the walk with
// kv.ErrTxClosed.
//
// Importing the package registers it as the "file" scheme of kv.Open.
package wal
