package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/relgraph/relgraph"
)

// ChangesPath streams the change feed (docs/spec.md §9) as
// newline-delimited JSON, one ChangeJSON per line: a GET with a read
// token (Authorization: Bearer, or ?token=), relgraph's own, outside
// the platform's paths. Query parameters:
//
//	since   the last sequence number the client processed (0: from the
//	        first change); absent: from the oldest change kept, even
//	        when retention drops it while the stream starts
//	follow  true (default): after what is kept, wait for new changes;
//	        false: end after the newest change kept when the request
//	        came, however fast changes come after it
//	limit   end after this many changes (default: no limit)
//
// Errors come before the stream, as {"error": code, "error_text": …}:
// 400 a bad parameter, a since past the newest change, or a feed that
// is off; 401 no token, 403 a wrong one; 410 changes after since were dropped by retention (the text
// names the oldest kept); 503 with Retry-After when Config.MaxFeedClients
// streams are open. A following stream ends, with the lines it sent
// whole, after Config.FeedIdle without a change, when the server shuts
// down, or when a client stalls a line for Config.FeedStall: the client
// resumes with since set to the last seq it read. Lines are flushed as
// soon as no more changes are at hand.
const ChangesPath = OwnPrefix + "changes"

// ChangesSinceHeader is the header of a change stream's answer that
// says where the stream starts: the since it was given, or, without
// one, the sequence number before the oldest change kept. A client that
// read nothing resumes from it, so a change written and dropped by
// retention before it reconnects is a 410, not a silent skip.
const ChangesSinceHeader = "Relgraph-Since"

// Defaults of the change stream's limits (Config).
const (
	DefaultMaxFeedClients = 64
	DefaultFeedIdle       = 5 * time.Minute
	DefaultFeedStall      = 30 * time.Second
)

// ChangeJSON is one line of the change stream: a relgraph.Change with
// ids as hex, times as RFC 3339 with nanoseconds (UTC). A relation
// change sets rel_id, profile_a and profile_b, and its before and
// after are {"weights": …, "created": …, "updated": …}; a profile
// change sets db_id and profile_id, and its before and after are the
// profile as profiles/get answers it. Before is null for a creation,
// after for a deletion.
type ChangeJSON struct {
	Seq       uint64 `json:"seq"`
	Time      string `json:"time"`
	Kind      string `json:"kind"`
	Op        string `json:"op"`
	RelID     uint32 `json:"rel_id,omitempty"`
	ProfileA  string `json:"profile_a,omitempty"`
	ProfileB  string `json:"profile_b,omitempty"`
	DBID      uint32 `json:"db_id,omitempty"`
	ProfileID string `json:"profile_id,omitempty"`
	Before    any    `json:"before"`
	After     any    `json:"after"`
}

// ChangeLine is c as a line of the change stream.
func ChangeLine(c *relgraph.Change) ChangeJSON {
	out := ChangeJSON{Seq: c.Seq, Time: dumpTime(c.Time), Kind: string(c.Kind), Op: string(c.Op)}
	if r := c.Relation; r != nil {
		out.RelID, out.ProfileA, out.ProfileB = r.Type, r.A.String(), r.B.String()
		side := func(it *relgraph.RelationItem) any {
			if it == nil {
				return nil
			}
			return map[string]any{"weights": it.Weights, "created": nanoTime(it.Created), "updated": nanoTime(it.Updated)}
		}
		out.Before, out.After = side(r.Before), side(r.After)
	}
	if p := c.Profile; p != nil {
		out.DBID, out.ProfileID = p.DatabaseID, p.ID.String()
		side := func(q *relgraph.Profile) any {
			if q == nil {
				return nil
			}
			return ProfileJSON(q)
		}
		out.Before, out.After = side(p.Before), side(p.After)
	}
	return out
}

// changesPage is how many changes the stream reads per snapshot.
const changesPage = 1000

// changes serves ChangesPath and returns the status it answered.
func (h *handler) changes(w http.ResponseWriter, r *http.Request) int {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		return h.feedError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: use GET")
	}
	q := r.URL.Query()
	token := bearerToken(r.Header.Get("Authorization"))
	if token == "" {
		token = q.Get("token")
	}
	if e := h.authorize(token, RoleRead); e != nil {
		return h.feedError(w, e.code, e.text)
	}
	ctx := r.Context()
	since, hasSince, err := feedUint(q, "since")
	if err != nil {
		return h.feedError(w, 400, err.Error())
	}
	limit, hasLimit, err := feedUint(q, "limit")
	if err == nil && hasLimit && limit == 0 {
		err = errors.New("limit: at least 1 (leave it out for no limit)")
	}
	if err != nil {
		return h.feedError(w, 400, err.Error())
	}
	follow := true
	if v := q.Get("follow"); v != "" {
		if follow, err = strconv.ParseBool(v); err != nil {
			return h.feedError(w, 400, "follow: true or false, not "+strconv.Quote(v))
		}
	}
	select {
	case h.feedSlots <- struct{}{}:
		defer func() { <-h.feedSlots }()
	default:
		w.Header().Set("Retry-After", "5")
		return h.feedError(w, 503, "too many change streams open ("+strconv.Itoa(cap(h.feedSlots))+"): try again later")
	}
	// end is the newest change when the stream starts: where a stream
	// that does not follow stops, however fast changes come after it.
	var end uint64
	if !hasSince || !follow {
		info, err := h.store.FeedInfo(ctx)
		if err != nil {
			return h.feedError(w, statusOf(err), err.Error())
		}
		if !hasSince {
			since = info.Oldest - 1
		}
		end = info.Newest
	}
	if h.cfg.Done != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-h.cfg.Done: // the server shuts down: the stream ends
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	first := changesPage
	if hasLimit {
		first = int(min(limit, changesPage))
	}
	// The first page answers the errors before the stream starts.
	page, err := h.store.ReadChanges(ctx, since, first)
	for tries := 0; !hasSince && errors.Is(err, relgraph.ErrChangesDropped) && tries < 5; tries++ {
		// "From the oldest kept", and retention dropped it between the
		// two reads: the oldest kept is now a later one.
		var info relgraph.FeedInfo
		if info, err = h.store.FeedInfo(ctx); err == nil {
			since = info.Oldest - 1
			page, err = h.store.ReadChanges(ctx, since, first)
		}
	}
	if err != nil {
		return h.feedError(w, feedStatus(err), err.Error())
	}
	w.Header().Set(ChangesSinceHeader, strconv.FormatUint(since, 10))
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	bw := bufio.NewWriterSize(&deadlineWriter{w: w, rc: rc, stall: h.cfg.FeedStall}, 64<<10)
	enc := json.NewEncoder(bw)
	sent := uint64(0)
	idle := time.Now()
	for {
		if !follow {
			for len(page) > 0 && page[len(page)-1].Seq > end {
				page = page[:len(page)-1]
			}
		}
		for i := range page {
			if err := enc.Encode(ChangeLine(&page[i])); err != nil {
				h.log.Info("change stream cut", "sent", sent, "error", err)
				return http.StatusOK
			}
			since = page[i].Seq
			sent++
		}
		if len(page) > 0 {
			idle = time.Now()
		}
		if hasLimit && sent >= limit {
			break
		}
		if err := bw.Flush(); err != nil {
			h.log.Info("change stream cut", "sent", sent, "error", err)
			return http.StatusOK
		}
		rc.Flush()
		if !follow && since >= end {
			break
		}
		if len(page) == 0 {
			if !follow {
				break
			}
			// Nothing is being written while the stream waits: the last
			// write's deadline goes (HTTP/2 resets a stream whose write
			// deadline passes even with no write pending).
			if err := rc.SetWriteDeadline(time.Time{}); err != nil && err != http.ErrNotSupported {
				break
			}
			wctx, cancel := context.WithDeadline(ctx, idle.Add(h.cfg.FeedIdle))
			err := h.store.WaitChanges(wctx, since)
			cancel()
			if err != nil {
				break // idle, shut down, or the client left: the stream ends whole
			}
		}
		n := changesPage
		if hasLimit {
			n = int(min(uint64(n), limit-sent))
		}
		if page, err = h.store.ReadChanges(ctx, since, n); err != nil {
			// Mid-stream (retention overtook a slow client, the feed was
			// turned off): the stream ends; the client's next request
			// answers the error.
			h.log.Info("change stream ended", "sent", sent, "error", err)
			break
		}
	}
	bw.Flush()
	return http.StatusOK
}

// feedUint reads a non-negative integer query parameter.
func feedUint(q map[string][]string, name string) (uint64, bool, error) {
	v, ok := q[name]
	if !ok || len(v) == 0 {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(v[0], 10, 64)
	if err != nil {
		return 0, true, errors.New(name + ": a non-negative integer, not " + strconv.Quote(v[0]))
	}
	return n, true, nil
}

// feedStatus is statusOf, with 410 for changes retention dropped.
func feedStatus(err error) int {
	if errors.Is(err, relgraph.ErrChangesDropped) {
		return http.StatusGone
	}
	return statusOf(err)
}

func (h *handler) feedError(w http.ResponseWriter, code int, text string) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": code, "error_text": text})
	return code
}
