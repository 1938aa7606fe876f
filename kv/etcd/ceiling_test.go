package etcd

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// txnShape is what an overwrite's worth of an etcd transaction holds:
// 4 compares of keys' mod revisions and 3 puts, and how they look.
type txnShape struct {
	name string
	// longKeys: keys of relgraph's length (45 bytes: prefix, keyspace,
	// binary key), not 10.
	longKeys bool
	// existing: the compared keys exist (4,000 of them, each compared
	// at its mod revision), as relgraph's profiles and counters do; not
	// keys never written (compared at 0).
	existing bool
	// elseBranch: the transaction reads the compared keys back on
	// failure, as relgraph's commits do to mend the read cache.
	elseBranch bool
	valueLen   int
}

// ceilingShape is BenchmarkClusterCeiling's: short keys never written,
// 100-byte values, no Else branch.
var ceilingShape = txnShape{name: "ceiling", valueLen: 100}

// existingKeys is how many keys an existing shape compares, in turn.
const existingKeys = 4000

func (sh txnShape) key(i int64) string {
	if sh.longKeys {
		return fmt.Sprintf("test1/relations\x00%028d", i)
	}
	return fmt.Sprintf("ceil/%d", i)
}

// shapedSender sends transactions of a shape to a cluster.
type shapedSender struct {
	cli   *clientv3.Client
	shape txnShape
	val   string
	revs  map[string]int64 // the existing keys' mod revisions
	next  atomic.Int64
}

// newShapedSender writes the keys an existing shape compares.
func newShapedSender(b *testing.B, cli *clientv3.Client, sh txnShape) *shapedSender {
	s := &shapedSender{cli: cli, shape: sh, val: string(make([]byte, sh.valueLen)), revs: map[string]int64{}}
	if sh.existing {
		for i := range int64(existingKeys) {
			r, err := cli.Put(context.Background(), sh.key(i), s.val)
			if err != nil {
				b.Fatal(err)
			}
			s.revs[sh.key(i)] = r.Header.Revision
		}
	}
	return s
}

// send commits one transaction of batch overwrites' worth; its compares
// hold, as a batch without conflicts does.
func (s *shapedSender) send(batch int) error {
	base := s.next.Add(int64(batch)) * 4
	var cmps []clientv3.Cmp
	var ops, elses []clientv3.Op
	for i := range int64(batch) {
		for j := range int64(4) {
			k := s.shape.key(1_000_000 + base + i*4 + j)
			if s.shape.existing {
				k = s.shape.key((base + i*4 + j) % existingKeys)
			}
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", s.revs[k]))
			if s.shape.elseBranch {
				elses = append(elses, clientv3.OpGet(k))
			}
		}
		for j := range int64(3) {
			ops = append(ops, clientv3.OpPut(s.shape.key(2_000_000_000+base+i*4+j), s.val))
		}
	}
	c, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	resp, err := s.cli.Txn(c).If(cmps...).Then(ops...).Else(elses...).Commit()
	if err == nil && !resp.Succeeded {
		err = fmt.Errorf("a %s transaction's compares failed", s.shape.name)
	}
	return err
}

// measureShape sends b.N overwrites' worth (rounded up to whole
// transactions), batch a transaction, from clients at once, and reports
// the CPU they cost this process and the cluster's members per
// overwrite sent.
func measureShape(b *testing.B, cluster *processCluster, s *shapedSender, batch, clients int) {
	b.ResetTimer()
	self0 := processCPU()
	members0, membersOK := cluster.cpu()
	done := make(chan error, clients)
	var claimed, sent atomic.Int64
	for range clients {
		go func() {
			for claimed.Add(int64(batch))-int64(batch) < int64(b.N) {
				if err := s.send(batch); err != nil {
					done <- err
					return
				}
				sent.Add(int64(batch))
			}
			done <- nil
		}()
	}
	for range clients {
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer() // the cluster's stop is no part of it
	n := float64(sent.Load())
	b.ReportMetric(float64((processCPU()-self0).Microseconds())/n, "client-cpu-µs/op")
	if members1, ok := cluster.cpu(); ok && membersOK {
		b.ReportMetric(float64((members1-members0).Microseconds())/n, "etcd-cpu-µs/op")
	}
}

func dialCluster(b *testing.B, cluster *processCluster) *clientv3.Client {
	// No logger: its warnings, while the members start, would land
	// among the benchmark's result lines.
	cli, err := clientv3.New(clientv3.Config{Endpoints: cluster.clients, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cli.Close() })
	return cli
}

// BenchmarkClusterCeiling measures what the 3-process cluster itself
// takes, with no relgraph: etcd transactions shaped like a group commit
// of overwrites (ceilingShape), batch after batch from one client (as
// relgraph's committer sends them) and from 4 at once. ns/op is per
// overwrite's worth, so it is the floor under BenchmarkOverwrite's
// procs=3 rows; client-cpu-µs/op and etcd-cpu-µs/op are the CPU an
// overwrite's worth costs this process and the three members:
//
//	cd kv/etcd && go test -run '^$' -bench 'ClusterCeiling$' -benchtime 3s .
func BenchmarkClusterCeiling(b *testing.B) {
	cluster := startProcessCluster(b, 3, 100000)
	s := newShapedSender(b, dialCluster(b, cluster), ceilingShape)
	for _, batch := range []int{16, 32, 64} {
		for _, clients := range []int{1, 4} {
			b.Run(fmt.Sprintf("batch=%d/clients=%d", batch, clients), func(b *testing.B) {
				measureShape(b, cluster, s, batch, clients)
			})
		}
	}
}

// BenchmarkClusterCeilingShapes is the ceiling with each way relgraph's
// transactions differ from it, alone and together (32 overwrites a
// transaction, one client, each shape on a cluster of its own): what
// makes relgraph's commits cost the members more CPU than the
// ceiling's (bench/README, "etcd rows"). The differences between
// shapes are within the spread of runs: compare them over several.
//
//	cd kv/etcd && go test -run '^$' -bench ClusterCeilingShapes -benchtime 3s .
func BenchmarkClusterCeilingShapes(b *testing.B) {
	for _, sh := range []txnShape{
		ceilingShape,
		{name: "long-keys", longKeys: true, valueLen: 100},
		{name: "existing-keys", existing: true, valueLen: 100},
		{name: "values-140", valueLen: 140},
		{name: "else-branch", elseBranch: true, valueLen: 100},
		{name: "all", longKeys: true, existing: true, elseBranch: true, valueLen: 140},
	} {
		b.Run(sh.name, func(b *testing.B) {
			cluster := startProcessCluster(b, 3, 100000)
			defer cluster.stop()
			measureShape(b, cluster, newShapedSender(b, dialCluster(b, cluster), sh), 32, 1)
		})
	}
}
