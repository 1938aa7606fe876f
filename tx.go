package relgraph

import (
	"time"

	"github.com/relgraph/relgraph/kv"
)

// Tx is one relgraph transaction. Every operation of the store is also a
// method of Tx, so callers can compose several in one transaction with
// Update or View. A Tx must not be used after its function returns, nor
// from other goroutines.
type Tx struct {
	kv     kv.Tx
	schema *schema
	now    time.Time
	// newSchema is set by schema changes; the committer installs it
	// after the commit.
	newSchema *schema
	// topRefills counts top lists this transaction rebuilt (top.go).
	topRefills uint64
	// region is Options.PhoneRegion, for NormalizePhone.
	region string
	// prepared is the import item putProfile is given, normalized ahead
	// for its creation (import_prepare.go); nil outside ImportBatch.
	prepared *preparedItem
	// ids is a block of generated ids checked free (profile_id.go);
	// nil outside ImportBatch.
	ids *idBlock
}

// schemaNow is the schema as this transaction has changed it so far.
func (tx *Tx) schemaNow() *schema {
	if tx.newSchema != nil {
		return tx.newSchema
	}
	return tx.schema
}
