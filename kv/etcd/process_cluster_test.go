package etcd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// etcdBinary is the real etcd server (go.etcd.io/etcd/server/v3's main
// package, the version this module requires), built once per test
// binary run.
var etcdBinary struct {
	once sync.Once
	path string
	err  error
}

func buildEtcd(t testing.TB) string {
	etcdBinary.once.Do(func() {
		dir, err := os.MkdirTemp("", "relgraph-etcd-bin")
		if err != nil {
			etcdBinary.err = err
			return
		}
		etcdBinary.path = filepath.Join(dir, "etcd")
		out, err := exec.Command("go", "build", "-o", etcdBinary.path, "go.etcd.io/etcd/server/v3").CombinedOutput()
		if err != nil {
			etcdBinary.err = fmt.Errorf("go build etcd: %v\n%s", err, out)
		}
	})
	if etcdBinary.err != nil {
		t.Fatal(etcdBinary.err)
	}
	return etcdBinary.path
}

// startProcessCluster runs n etcd members as separate processes on
// 127.0.0.1, a deployment as users run it: each its own data directory,
// fsyncing its WAL, with room for relgraph's transactions
// (--max-txn-ops maxTxnOps, --max-request-bytes 32 MiB). They are
// stopped (SIGTERM, then killed) by its stop, or when the test ends.
func startProcessCluster(t testing.TB, n int, maxTxnOps int) *processCluster {
	t.Helper()
	var clients []string
	bin := buildEtcd(t)
	var peers []string
	names := make([]string, n)
	peerURLs := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("p%d", i)
		peerURLs[i] = fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		peers = append(peers, names[i]+"="+peerURLs[i])
		clients = append(clients, fmt.Sprintf("http://127.0.0.1:%d", freePort(t)))
	}
	var procs []*exec.Cmd
	var once sync.Once
	stop := func() { once.Do(func() { stopProcesses(procs) }) }
	t.Cleanup(stop)
	for i := range n {
		dir := t.TempDir()
		cmd := exec.Command(bin,
			"--name", names[i], "--data-dir", filepath.Join(dir, "data"),
			"--listen-client-urls", clients[i], "--advertise-client-urls", clients[i],
			"--listen-peer-urls", peerURLs[i], "--initial-advertise-peer-urls", peerURLs[i],
			"--initial-cluster", strings.Join(peers, ","), "--initial-cluster-state", "new",
			"--max-txn-ops", fmt.Sprint(maxTxnOps), "--max-request-bytes", fmt.Sprint(32<<20),
			"--log-level", "error", "--log-outputs", filepath.Join(dir, "log"))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, cmd)
	}
	// No logger: the refused dials while members start are expected,
	// and its warnings would land among the benchmark's result lines.
	cli, err := clientv3.New(clientv3.Config{Endpoints: clients, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := cli.Put(c, "relgraph-bench-ready", "1")
		cancel()
		if err == nil {
			return &processCluster{clients: clients, procs: procs, stop: stop}
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd processes not ready after a minute: %v", err)
		}
	}
}

// processCluster is a cluster of member processes: their client URLs,
// the processes, and stop, which ends them.
type processCluster struct {
	clients []string
	procs   []*exec.Cmd
	stop    func()
}

// cpu is the CPU time (user and system) the members have used so far,
// from /proc, counted in the kernel's clock ticks (USER_HZ, 100 a second
// on Linux): what the cluster's side of a benchmark costs, beside the
// client's processCPU. ok is false when a member's could not be read (no
// /proc, or a member gone).
func (c *processCluster) cpu() (total time.Duration, ok bool) {
	for _, p := range c.procs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Process.Pid))
		if err != nil {
			return 0, false
		}
		// The fields after the command's closing parenthesis: state is
		// the first, utime and stime the 12th and 13th.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) < 13 {
			return 0, false
		}
		utime, err1 := strconv.ParseInt(f[11], 10, 64)
		stime, err2 := strconv.ParseInt(f[12], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, false
		}
		total += time.Duration(utime+stime) * 10 * time.Millisecond
	}
	return total, true
}

// processCPU is the CPU time (user and system) this process has used so
// far, every goroutine's included.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// stopProcesses ends the members: SIGTERM, then a kill after 10 s.
func stopProcesses(procs []*exec.Cmd) {
	for _, p := range procs {
		p.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range procs {
		done := make(chan struct{})
		go func() { p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.Process.Kill()
			<-done
		}
	}
}
