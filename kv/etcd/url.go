package etcd

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/relgraph/relgraph/kv"
)

func init() { kv.Register("etcd", OpenURL) }

// OpenURL opens the keyspaces of a store named
// etcd://host:port[,host:port…]/prefix (the prefix defaults to
// "relgraph"); the engine owns its connection. It is the opener of the
// etcd:// scheme (kv.Register). Of kv.Options, none applies to etcd:
// ReadOnly is refused (etcd has no shared lock to take), and so is a
// Config (etcd takes none); LockTimeout and NoSync are ignored.
func OpenURL(location string, keyspaces []kv.Keyspace, opts kv.Options) (kv.Engine, error) {
	u, err := url.Parse(location)
	if err != nil || u.Scheme != "etcd" || u.Host == "" {
		return nil, fmt.Errorf("%q is not etcd://host:port[,host:port…]/prefix", location)
	}
	if opts.Config != nil {
		return nil, fmt.Errorf("%s: %w: etcd takes no Config, given a %T", location, kv.ErrConfig, opts.Config)
	}
	if opts.ReadOnly {
		return nil, fmt.Errorf("%s: %w: etcd stores open read-write only", location, kv.ErrReadOnly)
	}
	var endpoints []string
	for _, h := range strings.Split(u.Host, ",") {
		endpoints = append(endpoints, "http://"+h)
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix == "" {
		prefix = "relgraph"
	}
	return Dial(endpoints, prefix+"/", keyspaces)
}
