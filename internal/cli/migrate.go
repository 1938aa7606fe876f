package cli

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
)

// migrateChunk is how many keys one target transaction copies: small
// enough for etcd's default limits of 128 operations and 1.5 MiB.
const migrateChunk = 100

func runMigrate(args []string, stdout, stderr io.Writer) error {
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
	start := time.Now()
	n, err := copyKeyspaces(src.Engine(), dst.Engine(), dst)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// Reopen the target so it loads the copied schema, then prove the copy.
	if dst, err = openDB(*to, nil); err != nil {
		return fmt.Errorf("target after the copy: %w", err)
	}
	defer dst.Close()
	want, err := src.Digest()
	if err != nil {
		return err
	}
	got, err := dst.Digest()
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("the copy differs from the source (digest %s, want %s)", got, want)
	}
	problems, err := dst.Check()
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("the copy has %d violation(s), first: %s", len(problems), problems[0])
	}
	fmt.Fprintf(stdout, "copied %d keys in %v; digests match; check: no violations\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}

// copyKeyspaces copies every key of every keyspace from one snapshot of
// src into dst, which must hold nothing but its format version.
func copyKeyspaces(src, dst kv.Engine, dstStore *relgraph.Store) (int, error) {
	if len(dstStore.Databases()) > 0 || len(dstStore.RelationTypes()) > 0 {
		return 0, errors.New("the target is not empty: migrate copies into a new store only")
	}
	r, err := src.Begin(false)
	if err != nil {
		return 0, err
	}
	defer r.Rollback()
	total := 0
	for _, ks := range index.All {
		c, err := r.Cursor(ks)
		if err != nil {
			return total, err
		}
		var keys, vals [][]byte
		flush := func() error {
			if len(keys) == 0 {
				return nil
			}
			w, err := dst.Begin(true)
			if err != nil {
				return err
			}
			for i := range keys {
				if err := w.Put(ks, keys[i], vals[i]); err != nil {
					w.Rollback()
					return err
				}
			}
			if err := w.Commit(); err != nil {
				return fmt.Errorf("copying %s: %w", ks, err)
			}
			total += len(keys)
			keys, vals = keys[:0], vals[:0]
			return nil
		}
		for k, v := c.First(); k != nil; k, v = c.Next() {
			keys, vals = append(keys, append([]byte{}, k...)), append(vals, append([]byte{}, v...))
			if len(keys) == migrateChunk {
				if err := flush(); err != nil {
					return total, err
				}
			}
		}
		if err := c.Err(); err != nil {
			return total, err
		}
		if err := flush(); err != nil {
			return total, err
		}
	}
	return total, nil
}
