package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/api"
	"github.com/relgraph/relgraph/internal/metrics"
	"github.com/relgraph/relgraph/kv/bolt"
	"github.com/relgraph/relgraph/kv/wal"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "[-db relgraph.db] [-config relgraph.json | -example] [-addr 127.0.0.1:8080]", stderr)
	dbPath := fs.String("db", "relgraph.db", "store file (created if missing), or a store URL where the build knows one (etcd://host:2379,…/prefix)")
	cfgPath := fs.String("config", "", "JSON config: tokens, databases, relation_types")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	example := fs.Bool("example", false, "set up the README's example schema, profiles and documentation tokens (no -config)")
	maxBody := fs.Int64("max-body", api.DefaultMaxBodyBytes, "request body limit in bytes")
	mmapSize := fs.Int("mmap-size", 1<<30, "initial memory map in bytes (address space, not memory): commits that grow the file past it wait for open reads such as a hot backup")
	headerTimeout := fs.Duration("read-header-timeout", 5*time.Second, "time a client has to send its request headers")
	readTimeout := fs.Duration("read-timeout", 30*time.Second, "time a client has to send a whole request")
	writeTimeout := fs.Duration("write-timeout", 60*time.Second, "time to write an answer")
	idleTimeout := fs.Duration("idle-timeout", 120*time.Second, "how long an idle keep-alive connection is kept")
	phoneRegion := fs.String("phone-region", "", "phone region (ISO 3166, such as US) of databases created by this run's schema, and of those that declare none; a database's own phone_region wins (RELGRAPH_PHONE_REGION is read by every command)")
	logFormat := fs.String("log-format", "text", "request log format on stderr: text or json")
	tlsCert := fs.String("tls-cert", "", "PEM certificate (chain) file: serve HTTPS (HTTP/2 where the client offers it) with -tls-key")
	tlsKey := fs.String("tls-key", "", "PEM private key file of -tls-cert")
	withMetrics := fs.Bool("metrics", true, "answer GET "+metrics.Path+" in Prometheus' format, without a token (counts and latencies, no data)")
	flagUsage := fs.Usage
	fs.Usage = func() {
		flagUsage()
		fmt.Fprintln(stderr, "\nEvery flag may also come from the environment: RELGRAPH_DB for -db, RELGRAPH_READ_TIMEOUT for\n-read-timeout, and so on; the command line wins. Tokens: RELGRAPH_TOKENS=token:role,token:role.")
	}
	if err := parseWithEnv(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (flags come before it?)", fs.Arg(0))
	}
	if *dbPath == "" {
		return usagef("-db is empty: name the store file")
	}
	logger, err := newLogger(*logFormat, stderr)
	if err != nil {
		return err
	}
	tlsConfig, err := loadTLS(*tlsCert, *tlsKey)
	if err != nil {
		return err
	}
	var cfg *config
	switch {
	case *example && *cfgPath != "":
		return usagef("-example and -config exclude each other")
	case *example:
		cfg = exampleConfig()
	case *cfgPath != "":
		if cfg, err = loadConfig(*cfgPath); err != nil {
			return err
		}
	default:
		cfg = &config{}
	}
	if env := os.Getenv("RELGRAPH_TOKENS"); env != "" {
		extra, err := parseEnvTokens(env)
		if err != nil {
			return err
		}
		cfg.Tokens = append(cfg.Tokens, extra...)
	}
	tokens, err := tokenRoles(cfg.Tokens)
	if err != nil {
		return err
	}
	// Nothing is created before the config is read, the address is ours
	// and, for a new store, the schema is known to apply (trySchema).
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if missingFile(*dbPath) && !*example {
		if err := trySchema(ctx, cfg); err != nil {
			return err
		}
	}
	opts := &relgraph.Options{PhoneRegion: *phoneRegion}
	if isFile(*dbPath) {
		opts.Engine = wal.Config{File: bolt.Config{InitialMmapSize: *mmapSize}}
	}
	store, err := lockHint(openDB(*dbPath, opts))
	if err != nil {
		return err
	}
	defer store.Close()
	for _, m := range store.Stats().Engine {
		if m.Name == wal.RecoveredRecordsMetric && m.Value > 0 {
			logger.Warn("recovered the store: replayed the writes a crash or kill left in its log", "store", *dbPath, "records", int64(m.Value))
		}
		if m.Name == wal.UnrecognizedLogMetric {
			logger.Warn("the file at the store's log path was not recognizably its log, and the store file held every write: it was moved aside whole (a user's file of that name, or a log a power cut tore as it began)", "store", *dbPath, "moved_to", *dbPath+"-wal.unrecognized-<time>")
		}
	}
	if err := setUp(ctx, store, cfg, *example); err != nil {
		return err
	}
	if *example {
		fmt.Fprintf(stderr, "%s\nEXAMPLE MODE: the documentation's placeholder tokens\n  %s\nare accepted as WRITE tokens. Never use -example with real data.\n%s\n",
			strings.Repeat("!", 72), strings.Join(exampleTokens, "\n  "), strings.Repeat("!", 72))
	}
	streamsDone := make(chan struct{}) // closed as the server shuts down
	apiCfg := api.Config{Tokens: tokens, MaxBodyBytes: *maxBody, Logger: logger, Done: streamsDone}
	var handler http.Handler
	if *withMetrics {
		m := metrics.New(store)
		apiCfg.Observe = m.Observe
		handler = m.Wrap(api.New(store, apiCfg))
	} else {
		handler = api.New(store, apiCfg)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: *headerTimeout,
		ReadTimeout:       *readTimeout,
		WriteTimeout:      *writeTimeout,
		IdleTimeout:       *idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig,
	}
	srv.RegisterOnShutdown(func() { close(streamsDone) })
	// ctx ends on SIGINT or SIGTERM (Run catches them before the address
	// is announced, so a stop sent as soon as the server is up is a
	// clean shutdown).
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	fmt.Fprintf(stdout, "relgraph: serving %s on %s://%s\n", *dbPath, scheme, ln.Addr())
	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			errc <- srv.ServeTLS(ln, "", "") // the certificate is in TLSConfig; HTTP/2 is offered
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(stdout, "relgraph: shutting down: finishing in-flight requests")
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if err := store.Close(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "relgraph: store closed")
	return nil
}

// setUp applies the config's schema, and the example's profiles.
func setUp(ctx context.Context, store *relgraph.Store, cfg *config, example bool) error {
	if example {
		if err := onlyExample(store, cfg); err != nil {
			return err
		}
	}
	if err := cfg.apply(ctx, store); err != nil {
		return err
	}
	if example {
		return exampleProfiles(ctx, store)
	}
	return nil
}

// onlyExample refuses to set the example up in a store that holds
// anything else: -example accepts the documentation's placeholder
// tokens as write tokens and adds its databases, fields and profiles,
// which must never happen to a user's own store (serve -example without
// -db would otherwise open relgraph.db, the first run's store).
func onlyExample(store *relgraph.Store, cfg *config) error {
	refuse := func(what string) error {
		return fmt.Errorf("-example: this store holds %s, which the example does not declare: it is not an example store; give the example its own file (serve -example -db example.db)", what)
	}
	for _, d := range store.Databases() {
		i := slices.IndexFunc(cfg.Databases, func(e relgraph.Database) bool { return e.ID == d.ID })
		if i < 0 || cfg.Databases[i].Name != d.Name || !slices.Equal(cfg.Databases[i].Fields, d.Fields) {
			return refuse(fmt.Sprintf("database %d %q", d.ID, d.Name))
		}
	}
	for _, r := range store.RelationTypes() {
		i := slices.IndexFunc(cfg.RelationTypes, func(e relgraph.RelationType) bool { return e.ID == r.ID })
		if i < 0 || cfg.RelationTypes[i].Name != r.Name {
			return refuse(fmt.Sprintf("relation type %d %q", r.ID, r.Name))
		}
	}
	return nil
}

// tokenRoles maps each token to its role, refusing none at all and a
// token declared twice (which role would win is not for a file's order
// to decide).
func tokenRoles(list []tokenConfig) (map[string]api.Role, error) {
	if len(list) == 0 {
		return nil, errors.New("no tokens: give them in -config or RELGRAPH_TOKENS (token:role,...), or use -example")
	}
	tokens := map[string]api.Role{}
	for _, t := range list {
		if _, dup := tokens[t.Token]; dup {
			return nil, fmt.Errorf("token %s is declared twice (in the config or RELGRAPH_TOKENS): declare each token once, with one role", redact(t.Token))
		}
		tokens[t.Token], _ = api.ParseRole(t.Role)
	}
	return tokens, nil
}

// newLogger returns the request log's logger in the given format.
func newLogger(format string, w io.Writer) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, usagef("-log-format %q: text or json", format)
}

// loadTLS reads -tls-cert and -tls-key (both or neither; nil: plain
// HTTP), before anything listens, so a wrong file is said at once and
// by name. TLS 1.2 is the least version served. The files are read
// once: a renewed certificate takes a restart.
func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	switch {
	case certFile == "" && keyFile == "":
		return nil, nil
	case certFile == "" || keyFile == "":
		return nil, usagef("-tls-cert and -tls-key go together: give both files, or neither for plain HTTP")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("-tls-cert %s, -tls-key %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
