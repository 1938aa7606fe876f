package cli

import (
	"testing"

	"github.com/relgraph/relgraph/internal/fuzzseed"
)

var seedConfig = []byte(`{"tokens":[{"token":"t","role":"write"}],"databases":[{"id":1,"name":"c","fields":[{"name":"CRM_ID","type":"int"}]}],"relation_types":[{"id":3,"database_a":1,"database_b":1,"properties":[{"name":"x","type":"int","aggregate":"top","top":5}]}]}`)

func TestWriteFuzzSeeds(t *testing.T) {
	if !fuzzseed.Enabled() {
		t.Skip("set RELGRAPH_WRITE_SEEDS=1 to rewrite testdata/fuzz")
	}
	fuzzseed.Write(t, "FuzzConfig", seedConfig, []byte(`{}`), []byte(`{"tokens":[{"token":"","role":"read"}]}`))
}

// FuzzConfig: any bytes give a config or an error naming the problem.
func FuzzConfig(f *testing.F) {
	f.Add(seedConfig)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseConfig(b)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		parseEnvTokens(string(b))
		for _, tok := range c.Tokens {
			if tok.Token == "" {
				t.Fatal("empty token accepted")
			}
		}
	})
}
