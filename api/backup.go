package api

import (
	"encoding/json"
	"net/http"
	"time"
)

// relgraph's own endpoints for tools beside a running server (relgraph
// check, get, export and backup with -server), outside the platform's
// /api/v1.1/ paths so that no platform client mistakes one for its own.
// Each is a GET with a read token (Authorization: Bearer, or ?token=):
// each only reads, and a read token already reads the whole store
// through profiles/list and relations/get, so a copy gives it nothing
// more. Any other method is a 405.
const (
	// BackupPath streams a consistent copy of the store file, taken from
	// one read snapshot while writers go on. The copy is not bound by
	// the server's write timeout: the deadline is pushed back as the
	// stream makes progress.
	BackupPath = "/admin/backup"
	// ExportPath streams the whole store as JSON Lines (WriteStore,
	// docs/spec.md §8), with the same deadline rule.
	ExportPath = "/admin/export"
	// CheckPath answers the problems of CheckFile (each "file: …") and
	// Check as JSON: {"problems": […]}, empty for a sound store.
	CheckPath = "/admin/check"
	// SchemaPath answers the schema in the config's form:
	// {"databases": […], "relation_types": […]}.
	SchemaPath = "/admin/schema"
)

// adminLabels are the admin paths' endpoint labels (metrics, logs).
var adminLabels = map[string]string{BackupPath: "admin/backup", ExportPath: "admin/export", CheckPath: "admin/check", SchemaPath: "admin/schema"}

// backupStall is how long one chunk of a streamed copy may take to
// write before the connection is cut.
const backupStall = time.Minute

// admin serves the admin path p and returns the status it answered.
func (h *handler) admin(w http.ResponseWriter, r *http.Request, p string) int {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method "+r.Method+" not allowed: use GET", http.StatusMethodNotAllowed)
		return http.StatusMethodNotAllowed
	}
	token := bearerToken(r.Header.Get("Authorization"))
	if token == "" {
		token = r.URL.Query().Get("token")
	}
	if e := h.authorize(token, RoleRead); e != nil {
		http.Error(w, e.text, e.code)
		return e.code
	}
	ctx := r.Context()
	start := time.Now()
	stream := &deadlineWriter{w: w, rc: http.NewResponseController(w)}
	switch p {
	case BackupPath:
		w.Header().Set("Content-Type", "application/octet-stream")
		n, err := h.store.Backup(ctx, stream)
		if err != nil {
			// The status is sent; the client's verification refuses a
			// cut copy (its meta page counts more pages than it got).
			h.log.Error("backup failed", "bytes", n, "error", err)
			return http.StatusInternalServerError
		}
		h.log.Info("backup", "bytes", n, "duration", time.Since(start))
	case ExportPath:
		w.Header().Set("Content-Type", "application/x-ndjson")
		n, err := WriteStore(ctx, h.store, stream, nil)
		if err != nil {
			// Cut short: the client sees a stream without its end; the
			// lines it has are whole, and the log says why.
			h.log.Error("export failed", "lines", n, "error", err)
			return http.StatusInternalServerError
		}
		h.log.Info("export", "lines", n, "duration", time.Since(start))
	case CheckPath:
		list := []string{}
		for _, err := range h.store.CheckFile(ctx) {
			list = append(list, "file: "+err.Error())
		}
		problems, err := h.store.Check(ctx)
		if err != nil {
			h.log.Error("check failed", "error", err)
			http.Error(w, "check failed: "+err.Error(), http.StatusInternalServerError)
			return http.StatusInternalServerError
		}
		for _, pr := range problems {
			list = append(list, pr.String())
		}
		writeAdminJSON(w, map[string]any{"problems": list})
	case SchemaPath:
		writeAdminJSON(w, map[string]any{"databases": h.store.Databases(), "relation_types": h.store.RelationTypes()})
	}
	return http.StatusOK
}

func writeAdminJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// deadlineWriter pushes the connection's write deadline back before
// each write, so a long stream is cut only when it stalls.
type deadlineWriter struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	stall time.Duration // how long one write may take; 0: backupStall
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	stall := d.stall
	if stall == 0 {
		stall = backupStall
	}
	if err := d.rc.SetWriteDeadline(time.Now().Add(stall)); err != nil && err != http.ErrNotSupported {
		return 0, err
	}
	return d.w.Write(p)
}

// isAdmin reports whether p is an admin path.
func isAdmin(p string) bool { _, ok := adminLabels[p]; return ok }
