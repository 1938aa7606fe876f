package cli

import (
	"context"
	"fmt"
	"io"
	"time"
)

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlags("migrate", "-from SRC -to DST", stderr)
	from := fs.String("from", "relgraph.db", "the store to copy (a file, or a URL the build knows)")
	to := fs.String("to", "", "an empty store to copy into (a file, or etcd://host:2379,…/prefix)")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *to == "":
		return usagef("-to is required: the empty store to copy into")
	case *to == *from:
		return usagef("-to names the source itself")
	}
	src, err := openStore(*from, true, "")
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer src.Close()
	dst, created, err := openOrCreate(*to, nil)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer func() {
		dst.Close()
		if created && err != nil {
			removeStore(*to) // a copy that failed is not left behind
		}
	}()
	start := time.Now()
	n, err := src.CopyTo(ctx, dst)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "copied %d keys in %v; digests match; check: no violations\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}
