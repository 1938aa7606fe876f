package etcd

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// BenchmarkClusterCeiling measures what the 3-process cluster itself
// takes, with no relgraph: etcd transactions shaped like a group commit
// of overwrites (per overwrite, 4 compares of keys' mod revisions and 3
// puts of 100 bytes), batch after batch from one client (as relgraph's
// committer sends them) and from 4 at once. ns/op is per overwrite's
// worth, so it is the floor under BenchmarkOverwrite's procs=3 rows;
// client-cpu-µs/op and etcd-cpu-µs/op are the CPU an overwrite's worth
// costs this process and the three members:
//
//	cd kv/etcd && go test -run '^$' -bench ClusterCeiling -benchtime 3s .
func BenchmarkClusterCeiling(b *testing.B) {
	cluster := startProcessCluster(b, 3, 100000)
	cli, err := clientv3.New(clientv3.Config{Endpoints: cluster.clients, DialTimeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	val := string(make([]byte, 100))
	for _, batch := range []int{16, 32, 64} {
		for _, clients := range []int{1, 4} {
			b.Run(fmt.Sprintf("batch=%d/clients=%d", batch, clients), func(b *testing.B) {
				var next atomic.Int64
				send := func() error {
					base := next.Add(int64(batch)) * 4
					var cmps []clientv3.Cmp
					var ops []clientv3.Op
					for i := range int64(batch) {
						for j := range int64(4) {
							cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(fmt.Sprintf("ceil/%d", base+i*4+j)), "=", 0))
						}
						for j := range int64(3) {
							ops = append(ops, clientv3.OpPut(fmt.Sprintf("ceil/w/%d", base+i*4+j), val))
						}
					}
					c, cancel := context.WithTimeout(context.Background(), Timeout)
					defer cancel()
					_, err := cli.Txn(c).If(cmps...).Then(ops...).Commit()
					return err
				}
				b.ResetTimer()
				self0 := processCPU()
				members0, membersOK := cluster.cpu()
				defer func() {
					b.ReportMetric(float64((processCPU()-self0).Microseconds())/float64(b.N), "client-cpu-µs/op")
					if members1, ok := cluster.cpu(); ok && membersOK {
						b.ReportMetric(float64((members1-members0).Microseconds())/float64(b.N), "etcd-cpu-µs/op")
					}
				}()
				done := make(chan error, clients)
				var sent atomic.Int64
				for range clients {
					go func() {
						for sent.Add(int64(batch)) <= int64(b.N) {
							if err := send(); err != nil {
								done <- err
								return
							}
						}
						done <- nil
					}()
				}
				for range clients {
					if err := <-done; err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
