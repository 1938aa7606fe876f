package api

import (
	"net/http"
	"strings"
	"time"
)

// BackupPath is the hot-backup endpoint: GET with a write token (as an
// Authorization: Bearer header) streams a consistent copy of the store
// file, taken from one read snapshot while writers go on. Any other
// method is a 405. The copy is not bound by the server's write timeout:
// the deadline is pushed back as the stream makes progress.
const BackupPath = "/admin/backup"

// backupStall is how long one chunk of a backup stream may take to
// write before the connection is cut.
const backupStall = time.Minute

func (h *handler) backup(w http.ResponseWriter, r *http.Request) int {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method "+r.Method+" not allowed: use GET", http.StatusMethodNotAllowed)
		return http.StatusMethodNotAllowed
	}
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if e := h.authorize(token, RoleWrite); e != nil {
		http.Error(w, e.text, e.code)
		return e.code
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	start := time.Now()
	n, err := h.store.Backup(r.Context(), &deadlineWriter{w: w, rc: http.NewResponseController(w)})
	if err != nil {
		// The status is sent; the client's verification refuses a cut
		// copy (its meta page counts more pages than it received).
		h.log.Error("backup failed", "bytes", n, "error", err)
		return http.StatusInternalServerError
	}
	h.log.Info("backup", "bytes", n, "duration", time.Since(start))
	return http.StatusOK
}

// deadlineWriter pushes the connection's write deadline back before
// each write, so a long stream is cut only when it stalls.
type deadlineWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	if err := d.rc.SetWriteDeadline(time.Now().Add(backupStall)); err != nil && err != http.ErrNotSupported {
		return 0, err
	}
	return d.w.Write(p)
}
