package relgraph

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"

	"github.com/relgraph/relgraph/index"
)

// The Store methods below run one Tx method in its own transaction:
// writes through the group commit (Update), reads in a snapshot (View).
// Their contracts are those of the Tx methods of the same names.

// ImportProfile runs Tx.ImportProfile in its own write.
func (s *Store) ImportProfile(db uint32, loc Locator, data ProfileData) (id ProfileID, created bool, err error) {
	err = s.write(func(tx *Tx) error {
		id, created, err = tx.ImportProfile(db, loc, data)
		return err
	})
	return id, created, err
}

// UpdateProfile runs Tx.UpdateProfile in its own write.
func (s *Store) UpdateProfile(db uint32, loc Locator, data ProfileData) (id ProfileID, err error) {
	err = s.write(func(tx *Tx) error {
		id, err = tx.UpdateProfile(db, loc, data)
		return err
	})
	return id, err
}

// DeleteProfile runs Tx.DeleteProfile in its own write.
func (s *Store) DeleteProfile(db uint32, loc Locator) (id ProfileID, err error) {
	err = s.write(func(tx *Tx) error {
		id, err = tx.DeleteProfile(db, loc)
		return err
	})
	return id, err
}

// GetProfile runs Tx.GetProfile in a snapshot.
func (s *Store) GetProfile(db uint32, loc Locator) (p *Profile, err error) {
	err = s.View(func(tx *Tx) error {
		p, err = tx.GetProfile(db, loc)
		return err
	})
	return p, err
}

// ImportItem is one profile of an ImportBatch.
type ImportItem struct {
	Locator Locator
	Data    ProfileData
}

// ImportResult is the outcome of one ImportItem.
type ImportResult struct {
	ID      ProfileID
	Created bool
	Err     error // nil on success
}

// MaxImportBatch is the most items ImportBatch takes in one call.
const MaxImportBatch = 10000

// ImportBatch imports every item into database db in one transaction
// and one commit. Each item succeeds or fails on its own: a failed item
// changes nothing and does not stop the others; later items see earlier
// ones (an email imported by item 3 conflicts in item 7). The error is
// for the whole call: too many items (400), or a 500 (storage failure,
// corruption, failed commit), in which case nothing was stored.
//
// Items validate before they write, so a failed item has written
// nothing and needs no undo log; an item that fails after writing (an
// engine fault) fails the whole call.
func (s *Store) ImportBatch(db uint32, items []ImportItem) ([]ImportResult, error) {
	if len(items) > MaxImportBatch {
		return nil, invalidf("import_batch: %d items, at most %d", len(items), MaxImportBatch)
	}
	results := make([]ImportResult, len(items))
	err := s.write(func(tx *Tx) error {
		counted := &countingTx{Tx: tx.kv}
		itemTx := &Tx{kv: counted, schema: tx.schema, now: tx.now}
		for i, it := range items {
			before := counted.writes
			var err error
			results[i] = ImportResult{}
			results[i].ID, results[i].Created, err = itemTx.ImportProfile(db, it.Locator, it.Data)
			if err != nil && (!isRequestError(err) || counted.writes != before) {
				return err // storage failure or corruption: store nothing
			}
			results[i].Err = err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// Overwrite runs Tx.Overwrite in its own write.
func (s *Store) Overwrite(req RelationRequest) (res RelationResult, err error) {
	err = s.write(func(tx *Tx) error {
		res, err = tx.Overwrite(req)
		return err
	})
	return res, err
}

// Modify runs Tx.Modify in its own write.
func (s *Store) Modify(req RelationRequest) (res RelationResult, err error) {
	err = s.write(func(tx *Tx) error {
		res, err = tx.Modify(req)
		return err
	})
	return res, err
}

// Attach runs Tx.Attach in its own write.
func (s *Store) Attach(req RelationRequest) (res RelationResult, err error) {
	err = s.write(func(tx *Tx) error {
		res, err = tx.Attach(req)
		return err
	})
	return res, err
}

// Detach runs Tx.Detach in its own write.
func (s *Store) Detach(req RelationRequest) (res RelationResult, err error) {
	err = s.write(func(tx *Tx) error {
		res, err = tx.Detach(req)
		return err
	})
	return res, err
}

// Relations runs Tx.Relations in a snapshot.
func (s *Store) Relations(q RelationsQuery) (page *RelationsPage, err error) {
	err = s.View(func(tx *Tx) error {
		page, err = tx.Relations(q)
		return err
	})
	return page, err
}

// Counter runs Tx.Counter in a snapshot.
func (s *Store) Counter(rel uint32, loc Locator) (c *Counter, err error) {
	err = s.View(func(tx *Tx) error {
		c, err = tx.Counter(rel, loc)
		return err
	})
	return c, err
}

// EachProfile calls fn with every profile of database db in id order,
// in one read snapshot, stopping at fn's first error. A record that does
// not decode stops it with ErrCorrupt.
func (s *Store) EachProfile(db uint32, fn func(p *Profile) error) error {
	return s.View(func(tx *Tx) error {
		if _, err := tx.schema.db(db); err != nil {
			return err
		}
		return tx.scanProfiles(db, fn)
	})
}

// Backup writes a consistent copy of the whole store file to w from one
// read snapshot: writers go on meanwhile. It returns the bytes written.
// The engine must support it (bbolt does); otherwise a 500.
func (s *Store) Backup(w io.Writer) (int64, error) {
	b, ok := s.engine.(interface {
		WriteTo(io.Writer) (int64, error)
	})
	if !ok {
		return 0, newError(ErrStorage, nil, "backup: the engine cannot copy itself")
	}
	n, err := b.WriteTo(w)
	if err != nil {
		return n, storageErr("backup", err)
	}
	return n, nil
}

// Digest returns a SHA-256 over every key and value of every keyspace,
// in order, from one snapshot: two stores with the same digest hold the
// same data byte for byte. It reads the whole store.
func (s *Store) Digest() (string, error) {
	h := sha256.New()
	err := s.View(func(tx *Tx) error {
		var n [4]byte
		for _, ks := range index.All {
			c, err := tx.kv.Cursor(ks)
			if err != nil {
				return storageErr("cursor", err)
			}
			h.Write([]byte(ks))
			for k, v := c.First(); k != nil; k, v = c.Next() {
				binary.BigEndian.PutUint32(n[:], uint32(len(k)))
				h.Write(n[:])
				h.Write(k)
				binary.BigEndian.PutUint32(n[:], uint32(len(v)))
				h.Write(n[:])
				h.Write(v)
			}
			if err := cursorErr(c); err != nil {
				return err
			}
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), err
}
