package bench

import (
	"syscall"
	"time"
)

// ProcessCPU is the CPU time (user and system) this process has used so
// far, every goroutine's, the garbage collector's and the background
// checkpointer's included: the difference over a run, divided by its
// operations, is the CPU each operation costs — the figure that sets
// throughput once the disk is not the limit. On a system without
// getrusage it is 0.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
