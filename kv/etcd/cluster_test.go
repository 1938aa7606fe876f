package etcd

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// freePort asks the kernel for a free port on 127.0.0.1.
func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// cluster is n etcd members started in this process on 127.0.0.1.
type cluster struct {
	members []*embed.Etcd
	clients []string // client URL of each member
}

// startCluster starts n members with room for relgraph's transactions.
func startCluster(t testing.TB, n int) *cluster { return startClusterWith(t, n, 100000) }

// startClusterWith starts n members allowing maxTxnOps per transaction.
func startClusterWith(t testing.TB, n int, maxTxnOps uint) *cluster {
	t.Helper()
	c := &cluster{}
	var peers []string
	cfgs := make([]*embed.Config, n)
	for i := range cfgs {
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("m%d", i)
		cfg.Dir = t.TempDir()
		cfg.LogLevel = "error"
		cu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", freePort(t)))
		pu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", freePort(t)))
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
		cfg.MaxTxnOps = maxTxnOps
		cfg.MaxRequestBytes = 32 << 20
		peers = append(peers, cfg.Name+"="+pu.String())
		c.clients = append(c.clients, cu.String())
		cfgs[i] = cfg
	}
	type started struct {
		e   *embed.Etcd
		err error
	}
	results := make(chan started, n)
	for _, cfg := range cfgs {
		cfg.InitialCluster = strings.Join(peers, ",")
		go func() { // members must start together to elect a leader
			e, err := embed.StartEtcd(cfg)
			if err != nil {
				results <- started{err: err}
				return
			}
			select {
			case <-e.Server.ReadyNotify():
				results <- started{e: e}
			case <-time.After(60 * time.Second):
				e.Close()
				results <- started{err: fmt.Errorf("member %s not ready", cfg.Name)}
			}
		}()
	}
	var failed error
	for range cfgs {
		r := <-results
		if r.err != nil {
			failed = r.err
			continue
		}
		c.members = append(c.members, r.e)
	}
	t.Cleanup(func() {
		for _, m := range c.members {
			m.Close()
		}
	})
	if failed != nil {
		t.Fatal(failed)
	}
	return c
}
