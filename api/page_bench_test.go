package api

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/relgraph/relgraph"
)

// BenchmarkRelationsGetPage100 is relations/get with limit 100 (a page
// of relations with three properties each) over real HTTP on
// 127.0.0.1, one keep-alive client, reading the whole answer: the
// server's cost per page, handler, encoding and transport.
func BenchmarkRelationsGetPage100(b *testing.B) {
	e := newEnv(b)
	res, err := e.store.ImportBatch(ctx, 2, make([]relgraph.ImportItem, 1000))
	if err != nil {
		b.Fatal(err)
	}
	err = e.store.Update(ctx, func(tx *relgraph.Tx) error {
		for i, r := range res {
			if _, err := tx.Attach(relgraph.RelationRequest{RelationType: 3, A: relgraph.Locator{ProfileID: profileA},
				B: relgraph.Locator{ProfileID: r.ID.String()}, Weights: map[string]any{"user_like": i, "donate": i * 7, "is_online": i%2 == 0}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	body := `{"token":"` + writeToken + `","rel_id":3,"profile_id":"` + profileA + `","limit":100}`
	client := &http.Client{}
	for b.Loop() {
		resp, err := client.Post(e.url+Prefix+"relations/get", "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n < 100*100 {
			b.Fatalf("answer %d, %d bytes", resp.StatusCode, n)
		}
	}
}
