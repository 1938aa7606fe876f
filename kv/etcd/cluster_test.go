package etcd

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// freePort returns a port free on 127.0.0.1 now, for a member to bind
// a moment later. It is drawn from 10000–29999, below the kernel's
// ephemeral range (32768 up on Linux): a port from that range, once
// freed, can become the local end of any outgoing connection, this
// process's or another test binary's, before the member binds it,
// which then fails with "address already in use" (it did, in CI).
// startClusterWith still starts again on that error.
func freePort(t testing.TB) int {
	for range 1000 {
		port := 10000 + rand.IntN(20000)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port on 127.0.0.1 in 10000–29999")
	return 0
}

// cluster is n etcd members started in this process on 127.0.0.1.
type cluster struct {
	members []*embed.Etcd
	clients []string // client URL of each member
}

// startCluster starts n members with room for relgraph's transactions.
func startCluster(t testing.TB, n int) *cluster { return startClusterWith(t, n, 100000) }

// startClusterWith starts n members allowing maxTxnOps per transaction.
// A member that finds its port taken (between freePort and its bind)
// fails the attempt; the cluster is then started again on other ports,
// up to three times.
func startClusterWith(t testing.TB, n int, maxTxnOps uint) *cluster {
	t.Helper()
	for attempt := 1; ; attempt++ {
		c, err := tryCluster(t, n, maxTxnOps)
		if err == nil {
			return c
		}
		if attempt == 3 || !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatal(err)
		}
		t.Logf("starting the cluster again: %v", err)
	}
}

// tryCluster starts n members; on an error, those that started are
// closed.
func tryCluster(t testing.TB, n int, maxTxnOps uint) (*cluster, error) {
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
	closeAll := func() {
		for _, m := range c.members {
			m.Close()
		}
	}
	if failed != nil {
		closeAll()
		return nil, failed
	}
	t.Cleanup(closeAll)
	return c, nil
}
