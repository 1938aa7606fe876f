package api

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// MaxExpansion is how many times its compressed size a gzip or deflate
// body may expand to: past it (and past 1 MiB) the body is refused with
// 413 as a decompression bomb, before it is held in memory.
const MaxExpansion = 100

// errUnsupportedEncoding is a Content-Encoding the server cannot decode
// (415).
type errUnsupportedEncoding struct{ encoding string }

func (e *errUnsupportedEncoding) Error() string {
	return fmt.Sprintf("unsupported Content-Encoding %q: send the body as is, or with gzip or deflate", truncate(e.encoding))
}

// errExpansion is a compressed body that expands too far (413).
var errExpansion = fmt.Errorf("the compressed body expands more than %d times", MaxExpansion)

// bodyEncoding is the request's Content-Encoding, lowercased: "" for
// none (or identity), "gzip" or "deflate"; any other is an error.
func bodyEncoding(r *http.Request) (string, error) {
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	switch enc {
	case "", "identity":
		return "", nil
	case "gzip", "x-gzip":
		return "gzip", nil
	case "deflate":
		return "deflate", nil
	}
	return "", &errUnsupportedEncoding{enc}
}

// readBody reads the request's body, decoded by its Content-Encoding,
// holding the body memory budget for the bytes it keeps (see budgeted;
// the caller releases it). Both the body as sent and the decoded body
// are held to limit (an *http.MaxBytesError beyond it); a compressed
// body that expands more than MaxExpansion times is errExpansion; no
// room in the budget is errBusyBody.
func readBody(w http.ResponseWriter, r *http.Request, encoding string, limit int64, budget *budgeted) ([]byte, error) {
	raw := &countingReader{r: http.MaxBytesReader(w, r.Body, limit)}
	var decoded io.Reader = raw
	switch encoding {
	case "gzip":
		zr, err := gzip.NewReader(raw)
		if err != nil {
			return nil, decodeError(err)
		}
		decoded = &expansionLimit{r: zr, raw: raw, limit: limit}
	case "deflate":
		// HTTP's deflate is zlib's format; some clients send raw deflate.
		br := bufio.NewReader(raw)
		if head, err := br.Peek(2); err == nil && zlibHeader(head) {
			zr, err := zlib.NewReader(br)
			if err != nil {
				return nil, decodeError(err)
			}
			decoded = &expansionLimit{r: zr, raw: raw, limit: limit}
		} else {
			decoded = &expansionLimit{r: flate.NewReader(br), raw: raw, limit: limit}
		}
	}
	budget.r = decoded
	body, err := io.ReadAll(budget)
	if err != nil {
		return nil, decodeError(err)
	}
	return body, nil
}

// zlibHeader reports whether b starts a zlib stream (RFC 1950): deflate
// compression and a header check that divides by 31.
func zlibHeader(b []byte) bool {
	return b[0]&0x0f == 8 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0
}

// decodeError keeps the limits' errors and names the encoding's.
func decodeError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) || errors.Is(err, errExpansion) || errors.Is(err, errBusyBody) {
		return err
	}
	return fmt.Errorf("the compressed body does not decode: %w", err)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// expansionLimit reads a decoded body, failing once it passes limit or
// MaxExpansion times what was read of the compressed body (past 1 MiB:
// small bodies compress well and are harmless).
type expansionLimit struct {
	r     io.Reader
	raw   *countingReader
	limit int64
	n     int64
}

func (e *expansionLimit) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.n += int64(n)
	if e.n > e.limit {
		return n, &http.MaxBytesError{Limit: e.limit}
	}
	if e.n > 1<<20 && e.n > MaxExpansion*e.raw.n {
		return n, errExpansion
	}
	return n, err
}
