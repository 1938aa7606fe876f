package relgraph

import (
	"context"
	"errors"
	"iter"
	"sync"
	"time"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/internal/record"
	"github.com/relgraph/relgraph/kv"
)

// The change feed (docs/spec.md §9): while it is on, every write that
// changes a profile or a relation appends a change to the feed in its
// own transaction, so a change is there exactly when its write is.
// Sequence numbers are dense and increase in commit order: the
// committer runs batches one after another, and each change takes the
// feed state's last number plus one, read through the transaction (a
// request undone in its batch gives its numbers back with its writes).
// On an optimistic engine (etcd) every write of the feed reads and
// writes the one state key, so concurrent stores on one cluster
// serialize their commits on it.

// ChangeKind says what a change did to its record.
type ChangeKind string

// The kinds of change.
const (
	ProfileCreated  ChangeKind = "profile.create"
	ProfileUpdated  ChangeKind = "profile.update"
	ProfileDeleted  ChangeKind = "profile.delete"
	RelationCreated ChangeKind = "relation.create"
	RelationUpdated ChangeKind = "relation.update"
	RelationDeleted ChangeKind = "relation.delete"
)

// ChangeOp names the operation whose write a change records.
type ChangeOp string

// The operations that write changes.
const (
	OpImport     ChangeOp = "import"     // ImportProfile, ImportBatch: profiles/import
	OpUpdate     ChangeOp = "update"     // UpdateProfile: profiles/update
	OpRestore    ChangeOp = "restore"    // RestoreProfile(At), RestoreRelation: relgraph import of an export
	OpDelete     ChangeOp = "delete"     // DeleteProfile: profiles/delete
	OpOverwrite  ChangeOp = "overwrite"  // Overwrite: relations/edit
	OpStrengthen ChangeOp = "strengthen" // Modify: relations/strengthen
	OpAttach     ChangeOp = "attach"     // Attach: relations/attach
	OpDetach     ChangeOp = "detach"     // Detach: relations/detach
	OpCascade    ChangeOp = "cascade"    // a relation deleted with its profile (DeleteProfile)
)

// The codes kinds and ops are stored as (never renumbered).
var (
	kindCodes = []ChangeKind{"", ProfileCreated, ProfileUpdated, ProfileDeleted, RelationCreated, RelationUpdated, RelationDeleted}
	opCodes   = []ChangeOp{"", OpImport, OpUpdate, OpRestore, OpDelete, OpOverwrite, OpStrengthen, OpAttach, OpDetach, OpCascade}
)

func changeCode[T comparable](codes []T, v T) uint8 {
	for i, c := range codes {
		if c == v {
			return uint8(i)
		}
	}
	panic("relgraph: unknown change code")
}

// Change is one entry of the change feed: a write, as it committed.
// Exactly one of Relation and Profile is set.
type Change struct {
	// Seq is the change's sequence number: 1 for the store's first,
	// then one more for each, in commit order.
	Seq uint64
	// Time is its transaction's time (the same for every change of a
	// group commit), UTC.
	Time time.Time
	Kind ChangeKind
	Op   ChangeOp
	// Relation is set for relation changes.
	Relation *RelationChange
	// Profile is set for profile changes.
	Profile *ProfileChange
}

// RelationChange is a relation before and after a write.
type RelationChange struct {
	Type uint32
	A, B ProfileID
	// Before and After are the relation as stored before and after the
	// write (with its times); nil where it was or is absent.
	Before, After *RelationItem
}

// ProfileChange is a profile before and after a write.
type ProfileChange struct {
	DatabaseID uint32
	ID         ProfileID
	// Before and After are the profile as stored before and after the
	// write; nil where it was or is absent.
	Before, After *Profile
}

// FeedConfig configures the change feed. Retention keeps the feed
// within every bound that is set (0: no bound of that kind), deleting
// the oldest changes in the background about once a second; a bound is
// thus passed by at most about a second of writes.
type FeedConfig struct {
	// On: writes append changes. Off, they append none, and every kept
	// change is dropped.
	On bool
	// MaxChanges keeps at most this many changes.
	MaxChanges int64
	// MaxBytes keeps at most this many bytes of change records.
	MaxBytes int64
	// MaxAge drops changes older than this (by their Time).
	MaxAge time.Duration
}

// FeedInfo is the feed's state: its configuration and what it keeps.
type FeedInfo struct {
	Config FeedConfig
	// Oldest and Newest are the sequence numbers of the first and last
	// changes kept; Oldest is Newest+1 when none is kept. Newest is the
	// last number given: a consumer starting from now reads since
	// Newest.
	Oldest, Newest uint64
	// Bytes is the size of the kept change records.
	Bytes int64
}

// MaxChangesPage bounds the changes one ReadChanges call returns.
const MaxChangesPage = 10_000

// feedState reads the feed's bookkeeping; a store that never had a
// feed has kept nothing and given nothing.
func (tx *Tx) feedState() (record.FeedState, error) {
	v, err := tx.kv.Get(index.Meta, index.FeedStateKey)
	if err != nil {
		return record.FeedState{}, storageErr("read feed state", err)
	}
	if v == nil {
		return record.FeedState{First: 1}, nil
	}
	st, err := record.DecodeFeedState(v)
	if err != nil {
		return st, corruptf("meta %q: %v", index.FeedStateKey, err)
	}
	return st, nil
}

func (tx *Tx) putFeedState(st record.FeedState) error {
	if err := tx.kv.Put(index.Meta, index.FeedStateKey, record.EncodeFeedState(st)); err != nil {
		return storageErr("write feed state", err)
	}
	return nil
}

// appendChange appends c to the feed when it is on, with the
// transaction's time and the next sequence number. It costs a read and
// two writes.
func (tx *Tx) appendChange(kind ChangeKind, op ChangeOp, c *record.Change) error {
	if !tx.schemaNow().feed.On {
		return nil
	}
	st, err := tx.feedState()
	if err != nil {
		return err
	}
	c.Kind, c.Op, c.Time = changeCode(kindCodes, kind), changeCode(opCodes, op), record.Nanos(tx.now)
	val := record.AppendChange(make([]byte, 0, record.ChangeLen(c)), c)
	st.Last++
	st.Bytes += uint64(len(val))
	if err := tx.kv.Put(index.Changes, index.ChangeKey(st.Last), val); err != nil {
		return storageErr("write change", err)
	}
	if err := tx.putFeedState(st); err != nil {
		return err
	}
	tx.feedLast = st.Last
	return nil
}

// relationChange appends the change of a relation write: w's relation
// from w.oldBytes to after (nil: deleted).
func (tx *Tx) relationChange(w *relationWrite, after []byte) error {
	kind := RelationUpdated
	switch {
	case after == nil:
		kind = RelationDeleted
	case w.oldBytes == nil:
		kind = RelationCreated
	}
	return tx.appendChange(kind, w.op, &record.Change{Space: w.rt.ID, A: w.a, B: w.b, Before: w.oldBytes, After: after})
}

// profileChange appends the change of a profile write.
func (tx *Tx) profileChange(op ChangeOp, db uint32, id ProfileID, before, after []byte) error {
	kind := ProfileUpdated
	switch {
	case after == nil:
		kind = ProfileDeleted
	case before == nil:
		kind = ProfileCreated
	}
	return tx.appendChange(kind, op, &record.Change{Space: db, A: id, Before: before, After: after})
}

// SetChangeFeed turns the feed on or off and sets its retention, in a
// transaction of its own that no write shares: every write after it
// follows it. Turning it off drops every kept change (ReadChanges then
// says so with ErrChangesDropped); turning it on again leaves a gap of
// one number, so a consumer that read the feed before gets
// ErrChangesDropped rather than missing the writes made while it was
// off. While the feed is on, the store's format is FormatVersionFeed:
// a relgraph built before the feed refuses to open it, since it would
// write without appending changes. Negative bounds are ErrInvalid.
func (s *Store) SetChangeFeed(ctx context.Context, cfg FeedConfig) error {
	if cfg.MaxChanges < 0 || cfg.MaxBytes < 0 || cfg.MaxAge < 0 {
		return invalidf("change feed: retention bounds must not be negative (max changes %d, max bytes %d, max age %s)", cfg.MaxChanges, cfg.MaxBytes, cfg.MaxAge)
	}
	err := s.updateSchema(ctx, func(tx *Tx) error {
		sc := tx.schemaNow()
		next := record.FeedConfig{On: cfg.On, MaxChanges: uint64(cfg.MaxChanges), MaxBytes: uint64(cfg.MaxBytes), Age: uint64(cfg.MaxAge)}
		if next == sc.feed {
			return nil
		}
		st, err := tx.feedState()
		if err != nil {
			return err
		}
		// The feed was on before when its state is stored (SetChangeFeed
		// writes it whenever it turns the feed on); a consumer may then
		// hold a position, even 0 from an empty feed.
		wasOn, err := tx.kv.Get(index.Meta, index.FeedStateKey)
		if err != nil {
			return storageErr("read feed state", err)
		}
		switch {
		case sc.feed.On && !next.On:
			st.First, st.Bytes = st.Last+1, 0 // retention deletes the records
		case !sc.feed.On && next.On && wasOn != nil:
			st.Last++ // a number no change takes: the gap
			st.First, st.Bytes = st.Last+1, 0
		}
		if err := tx.putFeedState(st); err != nil {
			return err
		}
		if err := tx.kv.Put(index.Meta, index.FeedConfigKey, record.EncodeFeedConfig(next)); err != nil {
			return storageErr("write feed configuration", err)
		}
		format := FormatVersion
		if next.On {
			format = FormatVersionFeed
		}
		if err := tx.kv.Put(index.Meta, index.FormatKey, []byte(format)); err != nil {
			return storageErr("write format", err)
		}
		n := *sc
		n.feed = next
		tx.newSchema = &n
		return nil
	})
	if err == nil {
		s.feed.notify() // a reader waiting on a feed just turned off hears it
	}
	return err
}

func feedConfigOf(c record.FeedConfig) FeedConfig {
	return FeedConfig{On: c.On, MaxChanges: int64(c.MaxChanges), MaxBytes: int64(c.MaxBytes), MaxAge: time.Duration(c.Age)}
}

// FeedInfo returns the feed's configuration and the changes it keeps,
// in one snapshot.
func (s *Store) FeedInfo(ctx context.Context) (FeedInfo, error) {
	var info FeedInfo
	err := s.View(ctx, func(tx *Tx) error {
		var err error
		info, err = tx.FeedInfo()
		return err
	})
	return info, err
}

// FeedInfo is Store.FeedInfo in tx.
func (tx *Tx) FeedInfo() (FeedInfo, error) {
	st, err := tx.feedState()
	if err != nil {
		return FeedInfo{}, err
	}
	return FeedInfo{Config: feedConfigOf(tx.schemaNow().feed), Oldest: st.First, Newest: st.Last, Bytes: int64(st.Bytes)}, nil
}

// ReadChanges returns the changes after since (a sequence number; 0
// for the first change), at most limit (1 to MaxChangesPage), in
// order; none when there is none yet. It does not wait (Changes does).
// Errors: ErrChangesDropped when the change after since is no longer
// kept; ErrInvalid for a limit out of range, a since past the newest
// change (the store is older than the consumer's position: restored
// from a backup?), or a feed that is off; ErrCorrupt for a change that
// does not decode. Cost: O(log n) to find since, then a read and a
// decode per change.
func (s *Store) ReadChanges(ctx context.Context, since uint64, limit int) ([]Change, error) {
	var out []Change
	err := s.View(ctx, func(tx *Tx) error {
		return tx.ReadChanges(since, limit, func(c *Change) error {
			out = append(out, *c)
			return nil
		})
	})
	return out, err
}

// ReadChanges is Store.ReadChanges in tx, calling fn with each change
// (which fn may keep) and stopping at fn's first error.
func (tx *Tx) ReadChanges(since uint64, limit int, fn func(*Change) error) error {
	if limit < 1 || limit > MaxChangesPage {
		return invalidf("limit %d: between 1 and %d", limit, MaxChangesPage)
	}
	sc := tx.schemaNow()
	st, err := tx.feedState()
	if err != nil {
		return err
	}
	switch {
	case !sc.feed.On:
		return invalidf("the change feed is off: turn it on first (Store.SetChangeFeed; relgraph feed -on)")
	case since > st.Last:
		return invalidf("since %d is past the newest change, %d: this store is older than the position asked for (restored from a backup?)", since, st.Last)
	case since+1 < st.First:
		return newError(ErrChangesDropped, nil, "changes after %d were dropped by the feed's retention: the oldest kept is %d (resume from %d, or start again from FeedInfo.Oldest)", since, st.First, st.First-1)
	}
	c, err := tx.kv.Cursor(index.Changes)
	if err != nil {
		return storageErr("cursor", err)
	}
	want := since + 1
	for k, v := c.Seek(index.ChangeKey(want)); k != nil && want <= st.Last && limit > 0; k, v = c.Next() {
		seq, ok := index.ParseChangeKey(k)
		if !ok || seq != want {
			return corruptf("%s: the feed keeps %d to %d, and change %d is missing", index.Describe(index.Changes, k), st.First, st.Last, want)
		}
		ch, err := tx.decodeChange(seq, v)
		if err != nil {
			return err
		}
		if err := fn(ch); err != nil {
			return err
		}
		want++
		limit--
	}
	if err := cursorErr(c); err != nil {
		return err
	}
	if limit > 0 && want <= st.Last {
		return corruptf("the feed keeps %d to %d, and change %d is missing", st.First, st.Last, want)
	}
	return nil
}

// decodeChange decodes a stored change, its records read by the
// current schema.
func (tx *Tx) decodeChange(seq uint64, v []byte) (*Change, error) {
	rc, err := record.DecodeChange(v)
	if err != nil {
		return nil, corruptf("%s: %v", index.Describe(index.Changes, index.ChangeKey(seq)), err)
	}
	if int(rc.Kind) >= len(kindCodes) || rc.Kind == 0 || int(rc.Op) >= len(opCodes) || rc.Op == 0 {
		return nil, corruptf("%s: unknown kind %d or operation %d", index.Describe(index.Changes, index.ChangeKey(seq)), rc.Kind, rc.Op)
	}
	ch := &Change{Seq: seq, Time: time.Unix(0, rc.Time).UTC(), Kind: kindCodes[rc.Kind], Op: opCodes[rc.Op]}
	sc := tx.schemaNow()
	switch ch.Kind {
	case ProfileCreated, ProfileUpdated, ProfileDeleted:
		p := &ProfileChange{DatabaseID: rc.Space, ID: rc.A}
		for _, side := range []struct {
			v   []byte
			out **Profile
		}{{rc.Before, &p.Before}, {rc.After, &p.After}} {
			if side.v != nil {
				if *side.out, err = decodeProfile(rc.Space, rc.A, side.v); err != nil {
					return nil, err
				}
			}
		}
		ch.Profile = p
	default:
		rt, err := sc.rel(rc.Space)
		if err != nil {
			return nil, corruptf("change %d: %v", seq, err)
		}
		r := &RelationChange{Type: rc.Space, A: rc.A, B: rc.B}
		for _, side := range []struct {
			v   []byte
			out **RelationItem
		}{{rc.Before, &r.Before}, {rc.After, &r.After}} {
			if side.v != nil {
				rec, err := decodeStoredRelation(rt, rc.A, rc.B, side.v) // as written then: the type may have changed since
				if err != nil {
					return nil, err
				}
				*side.out = &RelationItem{ProfileA: rc.A, ProfileB: rc.B, DatabaseB: rt.DatabaseB, Weights: rec.Weights, Created: rec.Created, Updated: rec.Updated}
			}
		}
		ch.Relation = r
	}
	if (ch.Kind == ProfileCreated || ch.Kind == RelationCreated) != (rc.Before == nil) ||
		(ch.Kind == ProfileDeleted || ch.Kind == RelationDeleted) != (rc.After == nil) {
		return nil, corruptf("change %d: a %s with before %v and after %v", seq, ch.Kind, rc.Before != nil, rc.After != nil)
	}
	return ch, nil
}

// feedPoll is how often a waiting Changes reads the feed again even
// when this store committed nothing: changes other stores write to one
// etcd cluster reach it that way.
const feedPoll = time.Second

// Changes reads the feed after since, as ReadChanges does, and then
// waits for new changes, yielding each once, in order, until ctx ends
// (it then yields ctx's error and stops) or the loop breaks. A change
// is yielded once its write is durable. Errors as ReadChanges (the
// iterator stops after yielding one). A consumer resumes after its own
// restart, or the store's, from the last Seq it processed.
func (s *Store) Changes(ctx context.Context, since uint64) iter.Seq2[*Change, error] {
	return func(yield func(*Change, error) bool) {
		for {
			page, err := s.ReadChanges(ctx, since, 1000)
			if err == nil && len(page) == 0 {
				err = s.WaitChanges(ctx, since)
			}
			if err != nil {
				yield(nil, err)
				return
			}
			for i := range page {
				if !yield(&page[i], nil) {
					return
				}
				since = page[i].Seq
			}
		}
	}
}

// WaitChanges returns once the feed holds a change after since (one
// whose write is durable), or is off, or ctx ends (its error). It
// wakes at this store's commits, and reads the feed's state again
// every second for the commits of other stores on one etcd cluster.
func (s *Store) WaitChanges(ctx context.Context, since uint64) error {
	poll := time.NewTimer(feedPoll)
	defer poll.Stop()
	for {
		wake := s.feed.wait() // before reading, so no commit is missed
		info, err := s.FeedInfo(ctx)
		if err != nil || info.Newest > since || !info.Config.On {
			return err
		}
		poll.Reset(feedPoll)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-poll.C:
		}
	}
}

// feedSignal wakes the readers waiting for new changes.
type feedSignal struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns a channel closed at the next notify.
func (f *feedSignal) wait() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ch == nil {
		f.ch = make(chan struct{})
	}
	return f.ch
}

// notify wakes every reader waiting since its last wait.
func (f *feedSignal) notify() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ch != nil {
		close(f.ch)
		f.ch = nil
	}
}

// Retention: the store's trimmer deletes expired changes about once a
// second, at most trimBatch of them per transaction (fewer when the
// engine refuses a transaction that large: etcd's --max-txn-ops).
const (
	trimInterval = time.Second
	trimBatch    = 1000
)

// trimLoop runs retention until stop is closed.
func (s *Store) trimLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(trimInterval)
	defer tick.Stop()
	limit := trimBatch
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		for more := true; more; {
			select {
			case <-stop:
				return
			default:
			}
			var err error
			more, err = s.trimOnce(context.Background(), limit)
			switch {
			case errors.Is(err, kv.ErrTooLarge) && limit > 1:
				limit, more = limit/2, true // over the engine's limits: smaller batches, from now on
			case err != nil:
				more = false // a failing store: try again at the next tick
			}
		}
	}
}

// trimOnce deletes up to limit changes past the retention bounds,
// reporting whether more may be due. It writes only when something is
// due: a tick of an idle store costs one read snapshot.
func (s *Store) trimOnce(ctx context.Context, limit int) (bool, error) {
	due := false
	if err := s.View(ctx, func(tx *Tx) error {
		var err error
		due, err = tx.trimChanges(false, limit)
		return err
	}); err != nil || !due {
		return false, err
	}
	more := false
	// trimChanges reads all it needs before its first write, so it runs
	// as the store's own writes do, without an undo log (a read per
	// deleted change) in a shared batch.
	err := s.write(ctx, func(tx *Tx) error {
		var err error
		more, err = tx.trimChanges(true, limit)
		return err
	})
	return more, err
}

// trimChanges walks the oldest changes and, when write is set, deletes
// up to limit of those the retention bounds (or a feed turned off)
// no longer keep. It reports whether any (write false) or more (write
// true) are due.
func (tx *Tx) trimChanges(write bool, limit int) (bool, error) {
	cfg := tx.schemaNow().feed
	st, err := tx.feedState()
	if err != nil {
		return false, err
	}
	c, err := tx.kv.Cursor(index.Changes)
	if err != nil {
		return false, storageErr("cursor", err)
	}
	oldest := tx.now.Add(-time.Duration(cfg.Age)).UnixNano()
	var drop [][]byte
	next := st
	k, v := c.First()
	for ; k != nil && len(drop) < limit; k, v = c.Next() {
		seq, ok := index.ParseChangeKey(k)
		if !ok {
			return false, corruptf("%s: not a change key", index.Describe(index.Changes, k))
		}
		if seq >= next.First {
			count := next.Last - next.First + 1
			expired := cfg.Age > 0 && record.ChangeTime(v) < oldest
			if !(cfg.MaxChanges > 0 && count > cfg.MaxChanges) && !(cfg.MaxBytes > 0 && next.Bytes > cfg.MaxBytes) && !expired {
				break
			}
			next.First = seq + 1
			next.Bytes -= min(next.Bytes, uint64(len(v)))
		}
		if !write {
			return true, cursorErr(c)
		}
		drop = append(drop, append([]byte(nil), k...))
	}
	if err := cursorErr(c); err != nil {
		return false, err
	}
	for _, key := range drop {
		if err := tx.kv.Delete(index.Changes, key); err != nil {
			return false, storageErr("delete change", err)
		}
	}
	if next != st {
		if err := tx.putFeedState(next); err != nil {
			return false, err
		}
	}
	return len(drop) == limit, nil
}
