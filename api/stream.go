package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/relgraph/relgraph"
)

// relationStream is the answer of relations/get without limit, offset
// or cursor: every relation of the A profile, as the platform's page
// documents ("all existing links"). It is written as it is read, a page
// of relgraph.MaxRelationsLimit at a time, each page in its own
// snapshot, so the server's memory does not grow with the count. Pages
// follow each other by cursor: no relation is written twice, and one
// written or removed while the answer streams may or may not be in it.
// total_count, written last, is the number written.
type relationStream struct {
	first *relgraph.RelationsPage // read before the status is sent: its errors are normal answers
	q     relgraph.RelationsQuery
}

// pageWriteTime is how long writing one page of a streamed answer may
// take before the server gives up on the client.
const pageWriteTime = 30 * time.Second

// streamKey is the key of an answer whose data is a relationStream.
const streamKey = "data"

// writeStream writes out, whose data is a *relationStream, with status
// 200. A failure after the status is sent cannot be answered: it is
// logged and the connection is cut, so the client sees a broken answer,
// never a short one that looks whole.
func (h *handler) writeStream(ctx context.Context, w http.ResponseWriter, f Format, out map[string]any) int {
	rs := out[streamKey].(*relationStream)
	bw := bufio.NewWriterSize(w, 64<<10)
	rc := http.NewResponseController(w)
	flush := func() {
		bw.Flush()
		rc.Flush()
		// A long answer that makes progress is not cut by the server's
		// write timeout: each page gets its own.
		rc.SetWriteDeadline(time.Now().Add(pageWriteTime))
	}
	text := scalarText(out["error_text"])
	if f == XML {
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.WriteHeader(200)
		fmt.Fprintf(bw, "%s<xml>\n  <error>0</error>\n  <error_text>", xml.Header)
		xml.EscapeText(bw, []byte(text))
		bw.WriteString("</error_text>\n")
	} else {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(200)
		fmt.Fprintf(bw, `{"error":0,"error_text":%s,"data":[`, strconv.Quote(text))
	}
	var line []byte
	written := 0
	page := rs.first
	q := rs.q
	for {
		for _, it := range page.Items {
			var err error
			if f == XML {
				var b bytes.Buffer
				if err = writeXMLValue(&b, "data", RelationItemJSON(it), 1); err == nil {
					bw.Write(b.Bytes())
					bw.WriteByte('\n')
				}
			} else {
				if written > 0 {
					bw.WriteByte(',')
				}
				if line, err = appendRelationJSON(line[:0], it); err == nil {
					bw.Write(append(line, '\n')) // as json.Encoder ends each value
				}
			}
			if err != nil {
				h.abort("encoding relations/get", err)
			}
			written++
		}
		flush()
		if page.NextCursor == "" {
			break
		}
		// The rest by A's id: a locator read once.
		q.A, q.Cursor = relgraph.Locator{ProfileID: page.Items[0].ProfileA.String()}, page.NextCursor
		var err error
		if page, err = h.store.Relations(ctx, q); err != nil {
			h.abort("reading relations/get", err)
		}
	}
	if f == XML {
		if written == 0 {
			bw.WriteString("  <data array=\"true\"/>\n") // an empty list, as writeXMLValue writes one
		}
		fmt.Fprintf(bw, "  <total_count>%d</total_count>\n</xml>\n", written)
	} else {
		fmt.Fprintf(bw, `],"total_count":%d}`+"\n", written)
	}
	flush()
	return 200
}

// abort ends an answer already under way: the server closes the
// connection without finishing it.
func (h *handler) abort(what string, err error) {
	h.log.Error(what+": the answer was cut", "error", err)
	panic(http.ErrAbortHandler)
}

// RelationItemJSON is one relation as relations/get answers it.
func RelationItemJSON(it relgraph.RelationItem) map[string]any {
	props := map[string]any{}
	for k, v := range it.Weights {
		props[k] = map[string]any{"value": v}
	}
	return map[string]any{
		"profile_id_a": it.ProfileA.String(),
		"xxh_a":        XXH(it.ProfileA),
		"profile_id_b": it.ProfileB.String(),
		"xxh_b":        XXH(it.ProfileB),
		"db_b":         it.DatabaseB,
		"props":        props,
	}
}
