package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlags("migrate", "-from SRC -to DST", stderr)
	from := fs.String("from", "relgraph.db", "the store to copy (a file, or a URL the build knows)")
	to := fs.String("to", "", "the store to copy into: a new file, or an empty etcd://host:2379,…/prefix")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *to == "":
		return usagef("-to is required: the new file or empty etcd prefix to copy into")
	case *from == "":
		return usagef("-from is empty: name the store to copy")
	case *to == *from:
		return usagef("-to names the source itself")
	}
	src, err := openStore(*from, true, "")
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer src.Close()
	// A target file is created here, exclusively, so that only a file
	// this run made is removed when the copy fails (with its log, if
	// there was none before).
	created, hadLog := false, false
	if isFile(*to) {
		f, err := os.OpenFile(*to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			// An existing file, a store or not, is left as it is: opening
			// it would make an empty one a store.
			return fmt.Errorf("target: %w (migrate copies into a new file: name one that does not exist)", err)
		}
		f.Close()
		created = true
		_, statErr := os.Stat(*to + "-wal")
		hadLog = statErr == nil
	}
	dst, err := lockHint(openDB(*to, nil))
	if err != nil {
		return fmt.Errorf("target: %w", err) // what this run created stays: another process may hold it now
	}
	defer func() {
		dst.Close()
		if created && err != nil {
			os.Remove(*to) // a copy that failed is not left behind
			if !hadLog {
				os.Remove(*to + "-wal")
			}
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
