package etcd

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/relgraph/relgraph/kv"
)

func init() { kv.Register("etcd", OpenURL) }

// OpenURL opens the keyspaces of a store named
// etcd://host:port[,host:port…]/prefix[?max-txn-ops=N&cache-mb=M]
// (the prefix defaults to "relgraph"); the engine owns its connection.
// max-txn-ops is the cluster's --max-txn-ops (Options.MaxTxnOps), and
// cache-mb bounds the read cache in MiB (Options.CacheBytes; 0 turns it
// off). It is the opener of the etcd:// scheme (kv.Register). Of
// kv.Options, none applies to etcd: ReadOnly is refused (etcd has no
// shared lock to take), and so is a Config (its options are the URL's);
// LockTimeout and NoSync are ignored.
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
	var o Options
	for name, vs := range u.Query() {
		n, err := strconv.ParseInt(vs[0], 10, 64)
		switch {
		case name != "max-txn-ops" && name != "cache-mb":
			return nil, fmt.Errorf("%s: %w: unknown parameter %q (max-txn-ops, cache-mb)", location, kv.ErrConfig, name)
		case err != nil || n < 0 || len(vs) > 1:
			return nil, fmt.Errorf("%s: %w: %s takes one non-negative integer, not %q", location, kv.ErrConfig, name, strings.Join(vs, ","))
		case name == "max-txn-ops":
			o.MaxTxnOps = int(min(n, 1<<30))
		case n == 0:
			o.CacheBytes = -1
		default:
			o.CacheBytes = min(n, 1<<20) << 20
		}
	}
	return DialWith(endpoints, prefix+"/", keyspaces, o)
}
