package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/api"
	"github.com/relgraph/relgraph/client"
)

// relgraph feed shows or sets a store's change feed; relgraph changes
// prints it, one JSON line per change (api.ChangeJSON), and with
// -server follows it as the server commits.

func runFeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("feed", "[-db F] [-on | -off] [-max-changes N] [-max-bytes N] [-max-age D]", stderr)
	dbPath := fs.String("db", "relgraph.db", "store file (or URL)")
	on := fs.Bool("on", false, "turn the change feed on")
	off := fs.Bool("off", false, "turn the change feed off (drops every kept change)")
	maxChanges := fs.Int64("max-changes", 0, "retention: keep at most this many changes (0: no bound)")
	maxBytes := fs.Int64("max-bytes", 0, "retention: keep at most this many bytes of changes (0: no bound)")
	maxAge := fs.Duration("max-age", 0, "retention: drop changes older than this, such as 168h (0: no bound)")
	if err := parse(fs, args); err != nil {
		return err
	}
	set := setFlags(fs)
	if set["on"] && set["off"] && *on == *off {
		return usagef("-on=%v and -off=%v contradict each other: give one", *on, *off)
	}
	changing := set["on"] || set["off"] || set["max-changes"] || set["max-bytes"] || set["max-age"]
	if missingFile(*dbPath) {
		return fmt.Errorf("%s: no such store (create one with 'relgraph schema apply' or 'relgraph serve')", *dbPath)
	}
	s, err := openStore(*dbPath, !changing, "")
	if err != nil {
		return err
	}
	defer s.Close()
	info, err := s.FeedInfo(ctx)
	if err != nil {
		return err
	}
	if changing {
		cfg := info.Config
		switch {
		case set["on"]:
			cfg.On = *on
		case set["off"]:
			cfg.On = !*off
		}
		if set["max-changes"] {
			cfg.MaxChanges = *maxChanges
		}
		if set["max-bytes"] {
			cfg.MaxBytes = *maxBytes
		}
		if set["max-age"] {
			cfg.MaxAge = *maxAge
		}
		if err := s.SetChangeFeed(ctx, cfg); err != nil {
			return err
		}
		if info, err = s.FeedInfo(ctx); err != nil {
			return err
		}
	}
	state := "off"
	if info.Config.On {
		state = "on"
	}
	bound := func(n int64, unit string) string {
		if n == 0 {
			return "no bound"
		}
		return fmt.Sprintf("%d %s", n, unit)
	}
	age := "no bound"
	if info.Config.MaxAge > 0 {
		age = info.Config.MaxAge.String()
	}
	fmt.Fprintf(stdout, "change feed: %s\nretention: %s, %s, %s\n", state, bound(info.Config.MaxChanges, "changes"), bound(info.Config.MaxBytes, "bytes"), age)
	if info.Oldest > info.Newest {
		fmt.Fprintf(stdout, "kept: none (the next change is %d)\n", info.Newest+1)
	} else {
		fmt.Fprintf(stdout, "kept: changes %d to %d, %d bytes\n", info.Oldest, info.Newest, info.Bytes)
	}
	return nil
}

func runChanges(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("changes", "[-db F | -server URL [-token T]] [-since N] [-follow=false] [-limit N]", stderr)
	dbPath := fs.String("db", "relgraph.db", "store file (or URL): prints the changes it keeps")
	server, token := serverFlags(fs)
	since := fs.Int64("since", -1, "print the changes after this sequence number (-1: from the oldest kept)")
	follow := fs.Bool("follow", true, "with -server: go on printing changes as they commit, until interrupted")
	limit := fs.Int64("limit", 0, "stop after this many changes (0: no limit)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *since < -1 || *limit < 0 {
		return usagef("-since and -limit take non-negative numbers")
	}
	printed := int64(0)
	done := errors.New("limit reached")
	print := func(line []byte) error {
		if _, err := stdout.Write(append(line, '\n')); err != nil {
			return err
		}
		if printed++; *limit > 0 && printed >= *limit {
			return done
		}
		return nil
	}
	if *server != "" {
		c, err := remote(fs, *server, *token)
		if err != nil {
			return err
		}
		err = remoteChanges(ctx, c, *since, *follow, print, stderr)
		if errors.Is(err, done) || (*follow && ctx.Err() != nil) {
			return nil // interrupted while following: the way it ends
		}
		return err
	}
	if missingFile(*dbPath) {
		return fmt.Errorf("%s: no such store", *dbPath)
	}
	s, err := openStore(*dbPath, true, "")
	if err != nil {
		return err
	}
	defer s.Close()
	from := uint64(*since)
	if *since < 0 {
		info, err := s.FeedInfo(ctx)
		if err != nil {
			return err
		}
		from = info.Oldest - 1
	}
	for {
		page, err := s.ReadChanges(ctx, from, relgraph.MaxChangesPage)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		for i := range page {
			line, err := json.Marshal(api.ChangeLine(&page[i]))
			if err != nil {
				return err
			}
			if err := print(line); err != nil {
				if errors.Is(err, done) {
					return nil
				}
				return err
			}
			from = page[i].Seq
		}
	}
}

// remoteChanges prints a server's feed; following, it reconnects from
// the last change it printed whenever the server ends the stream (idle
// streams end), after a pause when the server was unreachable.
func remoteChanges(ctx context.Context, c *client.Client, since int64, follow bool, print func([]byte) error, stderr io.Writer) error {
	from := since // -1: from the oldest kept
	for {
		var printErr error // the limit, or stdout gone: the end
		last, err := c.Changes(ctx, from, follow, func(_ api.ChangeJSON, line []byte) error {
			printErr = print(line)
			return printErr
		})
		from = last
		var refused *client.Error
		wait := time.Second // a dropped connection: try again shortly
		switch {
		case printErr != nil:
			return printErr
		case err == nil && !follow:
			return nil
		case err == nil:
			continue // the server ended an idle stream
		case ctx.Err() != nil, !follow:
			return err
		case errors.As(err, &refused) && refused.Status == 503:
			wait = max(refused.RetryAfter, time.Second) // streams are full: wait as asked
			fmt.Fprintf(stderr, "relgraph changes: %v; trying again in %s\n", err, wait)
		case errors.As(err, &refused):
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}
