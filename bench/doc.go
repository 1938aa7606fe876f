// Package bench holds relgraph's benchmarks: `go test -bench . ./bench`
// for the hot paths, and cmd/relbench for side-by-side comparisons with
// plain bbolt. Every store here commits durably (fsync on every commit)
// unless a benchmark's name says otherwise.
package bench
