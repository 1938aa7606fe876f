package api

import (
	"context"
	"testing"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
)

var savedRelation []byte

func relationKey(t *testing.T) []byte {
	a, _ := relgraph.ParseProfileID(profileA)
	b, _ := relgraph.ParseProfileID(profileB)
	return index.EdgeKey(3, a, b)
}

// corruptRelation overwrites the A–B relation of type 3 with bytes that
// do not decode, through the engine (as a disk fault would).
func corruptRelation(t *testing.T, e kv.Engine) {
	txn, err := e.Begin(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := txn.Get(index.Adjacency, relationKey(t))
	savedRelation = append([]byte{}, v...)
	if err := txn.Put(index.Adjacency, relationKey(t), []byte("garbage!")); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
}

func repairRelation(t *testing.T, e kv.Engine) {
	txn, err := e.Begin(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	if err := txn.Put(index.Adjacency, relationKey(t), savedRelation); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
}
