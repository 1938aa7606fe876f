package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/relgraph/relgraph"
)

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", "-from SRC -to DST", stderr)
	from := fs.String("from", "relgraph.db", "the store to copy (a file, or a URL the build knows)")
	to := fs.String("to", "", "an empty store to copy into (a file, or etcd://host:2379,…/prefix)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *to == "" {
		fs.Usage()
		return errUsage
	}
	src, err := openDB(*from, &relgraph.Options{Timeout: 2 * time.Second, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer src.Close()
	dst, err := openDB(*to, nil)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer dst.Close()
	start := time.Now()
	n, err := src.CopyTo(ctx, dst)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "copied %d keys in %v; digests match; check: no violations\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}
