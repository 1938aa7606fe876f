package etcd

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/index"
)

// DefaultMaxBatch is the group-commit batch a store on etcd uses unless
// its options say otherwise: small, to keep commits within etcd's limits.
const DefaultMaxBatch = 16

// OpenURL opens a relgraph store named etcd://host:port[,host:port…]/prefix
// (the prefix defaults to "relgraph"). The store owns the connection and
// closes it with the store. File-only options (Timeout, mmap, NoSync,
// ReadOnly) do not apply.
func OpenURL(spec string, opts *relgraph.Options) (*relgraph.Store, error) {
	u, err := url.Parse(spec)
	if err != nil || u.Scheme != "etcd" || u.Host == "" {
		return nil, fmt.Errorf("%q is not etcd://host:port[,host:port…]/prefix", spec)
	}
	var endpoints []string
	for _, h := range strings.Split(u.Host, ",") {
		endpoints = append(endpoints, "http://"+h)
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix == "" {
		prefix = "relgraph"
	}
	e, err := Dial(endpoints, prefix+"/", index.All)
	if err != nil {
		return nil, err
	}
	var o relgraph.Options
	if opts != nil {
		o = *opts
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	s, err := relgraph.OpenEngine(e, &o)
	if err != nil {
		e.Close()
		return nil, err
	}
	return s, nil
}
