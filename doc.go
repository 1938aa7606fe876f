// Package relgraph is an embedded store of profiles and typed, weighted
// relations between them, answering the profile-relations API of a
// customer-data platform: overwrite (edit), modify (strengthen), attach,
// detach, list (get) and aggregate (get_counter), plus profile import,
// update, get and delete. See docs/spec.md for the contract it implements.
//
// # Transactions and durability
//
// Every operation runs in one transaction: everything it changes (the
// profile or relation, its indexes, the reverse edge and the counter
// with its top lists) commits together or not at all. Store methods are
// each a transaction of their own; Update and View compose several.
//
// Writes go through a group commit: one committer goroutine takes every
// queued write, runs them in one engine transaction and commits once,
// without waiting on a timer; while the commit before it is still
// syncing, a transaction also takes the writes that come meanwhile
// (waiting for them at most 2 ms at a time), since it could not sync
// sooner. A write returns only after its commit is
// on disk (unless Options.NoSync). For a store file the engine is
// bbolt with a write-ahead log in front (package kv/wal, the file
// path-wal beside it): a commit is one sequential append and one
// fdatasync of the log, and a background checkpoint moves the logged
// writes into bbolt in large durable transactions; Open replays what
// the log holds past the last checkpoint, and Close checkpoints all of
// it, so a closed store is one file. Open refuses a log damaged beyond
// what a crash leaves (ErrCorrupt, naming what would be lost) rather
// than drop acknowledged writes; package kv/wal says what each fault
// costs and how to repair. A write that
// fails, by error or panic, is undone alone (an undo log restores what
// it wrote) and the rest of its batch commits; a failed commit fails
// every write of the batch, and none of them is stored.
//
// Every operation validates before it writes: locators are resolved,
// types checked, uniqueness and overflow tested first, so a failed call
// leaves the store byte-identical.
//
// Errors are *Error values: a kind (one of the sentinels ErrInvalid,
// ErrNotFound, ErrConflict, ErrAmbiguous, ErrCorrupt, ErrStorage,
// ErrClosed, ErrFormat, ErrLocked; test with errors.Is), a message naming the side,
// field or value at fault, and the cause. The core knows no HTTP: the
// api package maps kinds to the platform's codes.
//
// # Contexts
//
// Every Store method that can wait takes a context: writes wait in the
// commit queue and for the fsync, reads may wait on a remote engine. A
// write whose context ends while it is queued is not applied and returns
// the context's error; once its batch has begun, the caller is told the
// outcome it had. The batch itself runs under no caller's context.
//
// # Values
//
// The store takes Go values of the declared types, and refuses anything
// else with ErrInvalid: any Go integer (int8 to uint64, within int64)
// for an int field or property; a float32 or float64, or an integer a
// float64 holds exactly, for a float; a bool; a string; a time.Time for
// a date; a []string for tags (trimmed, deduplicated, sorted). Text such
// as "12" or "a, b" is the wire format's, converted by package api.
//
// # Engines
//
// The store reaches its engine through package kv. Open opens a file
// path on bbolt behind its log (kv/wal, which registers the "file"
// scheme over kv/bolt), or a URL of any engine the program imports
// (kv/etcd registers etcd://; kv.Register). Backup, Compact, CheckFile
// and CopyTo use the capabilities the engine names (kv.Snapshotter,
// kv.Compacter, kv.FileChecker); OpenEngine takes an engine already open.
//
// # Storage layout
//
// The store talks to an ordered KV through package kv; a store file is
// bbolt (kv/bolt) behind a write-ahead log (kv/wal). Keyspaces and keys
// are documented in package index: one key per fact, fixed-width
// big-endian ids, length-prefixed or escaped strings, so no key of one
// value is a prefix of another's and byte order is value order. The
// values are the records of internal/record, which draws their bytes:
// msgpack, canonical (sorted keys, int64 and float64 keep their types),
// each ending in a CRC-32C so a flipped bit is reported, never decoded
// into a plausible wrong value.
//
// # Invariants
//
// Check verifies all of them and reports every violation: each index
// entry is implied by a stored profile and each implied entry exists
// (so emails are unique per database); each relation has its reverse
// edge and live endpoints in its type's databases; counters and their
// top lists equal what the relations imply. Options.StrictMode runs Check
// inside every write transaction and refuses commits that would break
// one.
//
// # Decisions where the platform's pages are silent
//
//   - Import with a locator that matches nothing creates the profile with
//     the locator's key (its email, phone or field value) unless the data
//     sets that key itself. A profile_id locator only finds (the
//     platform's "only on update"): RestoreProfile creates a profile with
//     a given id, as an export's import needs.
//   - Every database has the platform's system fields (SystemFields);
//     its computed ones (ReadOnlyFields) are refused on write.
//   - Phones are read by libphonenumber into E.164; one without its
//     country code needs Options.PhoneRegion.
//   - A field's value may be a FieldUpdate (incr, add and delete of tags,
//     set, unset): the platform's functional updates.
//   - A profile's email is unset with a pointer to "" (ProfileData.Email)
//     or null on the wire; phones sent replace the list.
//   - Error precedence of relation writes: missing weights (400), unknown
//     relation type (404), profile_a, profile_b (404/409), then the
//     weights (400).
//   - An ambiguous match counts up to 1000 matches, then says "more than
//     1000".
//   - get_counter lists every declared property while A has relations,
//     and none when it has none. Sums are exact, so no write, detach or
//     delete ever fails on a counter and no sum drifts: int sums are
//     kept in 128 bits, and Sum is an int64, or a *big.Int beyond the
//     int64 range; float sums are kept unrounded (an odd integer times
//     a power of two), and Sum is the exact sum correctly rounded to a
//     float64, or, when it lies beyond ±math.MaxFloat64, a *big.Float of
//     53 bits (on the wire: a number such as 3.4e+308), never an
//     infinity.
//   - Top lists break ties by B's id, ascending. The counter record keeps
//     the head of each top property's ranking (N to 2N entries), so a
//     write that changes the property rewrites no other key. A write that
//     leaves a list shorter than N while more relations hold the property
//     reads all of A's relations to refill it: at most once per N+1
//     removals from the list, but that one write costs O(relations of A).
//     Stats.TopRefills counts them.
//   - Strengthen on an absent relation creates it from 0; a result out of
//     int64 range, or a fraction for an int property, is a 400.
//   - Limits: indexed string fields 1 KiB (unindexed 64 KiB), relation
//     string properties 1 KiB, tags 256 bytes and 1000 per field, 32
//     phones and 1000 subscriptions per profile, 256 fields per
//     database, 64 properties per relation type.
//   - Schema changes: adding fields or properties and renaming are free;
//     changing a field's type or indexing, or a property, is refused;
//     removing a field is refused while a profile holds it, removing a
//     property while any relation of its type exists.
package relgraph
