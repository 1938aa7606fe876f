package main

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"

	_ "github.com/mattn/go-sqlite3" // the C SQLite through cgo: SQLite at its real speed

	"github.com/relgraph/relgraph/bench"
)

// sqliteContender does the same work in SQLite: WAL, synchronous=FULL
// (an fsync per commit, like relgraph), the same schema — a unique email
// index, phone and custom-field indexes, tags in their own indexed table,
// and an edges table keyed by (rel, a, b) with its reverse index — and
// INSERT … ON CONFLICT DO UPDATE for overwrite and strengthen. Counters
// are queries, as a SQLite user would write them, and every statement
// is prepared once (prepared), as a SQLite user after speed would.
type sqliteContender struct {
	db *sql.DB
	n  int
	d  dataset

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// prepared returns query prepared on c.db, preparing it the first time:
// database/sql then prepares it once per connection, and a transaction
// takes it with tx.Stmt, instead of SQLite parsing it on every call.
func (c *sqliteContender) prepared(query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	st, err := c.db.Prepare(query)
	if err != nil {
		return nil, err
	}
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	c.stmts[query] = st
	return st, nil
}

// txStmt is query prepared, in tx.
func (c *sqliteContender) txStmt(tx *sql.Tx, query string) (*sql.Stmt, error) {
	st, err := c.prepared(query)
	if err != nil {
		return nil, err
	}
	return tx.Stmt(st), nil
}

const sqliteSchema = `
CREATE TABLE profiles (
	id INTEGER PRIMARY KEY, db INTEGER NOT NULL, email TEXT, phone TEXT,
	crm_id INTEGER, sku TEXT, data BLOB);
CREATE UNIQUE INDEX profiles_email ON profiles(db, email) WHERE email IS NOT NULL;
CREATE INDEX profiles_phone ON profiles(db, phone);
CREATE INDEX profiles_crm ON profiles(db, crm_id);
CREATE INDEX profiles_sku ON profiles(db, sku);
CREATE TABLE tags (profile INTEGER NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (tag, profile)) WITHOUT ROWID;
CREATE TABLE edges (
	rel INTEGER NOT NULL, a INTEGER NOT NULL, b INTEGER NOT NULL,
	user_like INTEGER, donate INTEGER, is_online INTEGER, created INTEGER, updated INTEGER,
	PRIMARY KEY (rel, a, b)) WITHOUT ROWID;
CREATE INDEX edges_b ON edges(rel, b, a);
CREATE INDEX edges_top ON edges(rel, a, donate DESC);
`

// openSQLite creates an empty SQLite store with the schema.
func openSQLite(dir string) (*sqliteContender, error) {
	dsn := "file:" + filepath.Join(dir, "sqlite.db") + "?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_txlock=immediate"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(64)
	if _, err := db.Exec(sqliteSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("schema: %w", err)
	}
	return &sqliteContender{db: db}, nil
}

// newSQLite loads the dataset: profile i of database 1 has id i+1; item
// j of database 2 has id profiles+j+1.
func newSQLite(dir string, d dataset) (*sqliteContender, error) {
	c, err := openSQLite(dir)
	if err != nil {
		return nil, err
	}
	c.n, c.d = d.profiles, d
	db := c.db
	if err := c.importProfiles(0, d.profiles); err != nil {
		return nil, err
	}
	for start := 0; start < d.profiles; start += 10000 {
		tx, err := db.Begin()
		if err != nil {
			return nil, err
		}
		for j := start; j < d.profiles && j < start+10000; j++ {
			if _, err := tx.Exec(`INSERT INTO profiles(id, db, sku) VALUES (?, 2, ?)`, d.profiles+j+1, bench.SKU(j)); err != nil {
				tx.Rollback()
				return nil, err
			}
		}
		if err := tx.Commit(); err != nil {
			return nil, err
		}
	}
	loads := []struct{ a, n int }{{0, d.bigN}, {1, 10}, {6, d.deleteN}}
	for a := popFirst; a < popFirst+d.popA; a++ {
		loads = append(loads, struct{ a, n int }{a, d.popB})
	}
	for _, l := range loads {
		tx, err := db.Begin()
		if err != nil {
			return nil, err
		}
		for j := 0; j < l.n; j++ {
			if _, err := tx.Exec(`INSERT OR IGNORE INTO edges(rel, a, b, user_like, donate, is_online) VALUES (3, ?, ?, ?, ?, 0)`,
				l.a+1, c.n+j%c.n+1, j, j%1000); err != nil {
				tx.Rollback()
				return nil, err
			}
		}
		if err := tx.Commit(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// importProfiles inserts profiles [from, to) of database 1 with email,
// phone, two custom fields and tags, 10,000 per transaction, at its
// best: the rows of the next transaction are built on another goroutine
// while one commits (as relgraph's are), with its statements prepared.
func (c *sqliteContender) importProfiles(from, to int) error {
	batches := make(chan []sqlPerson, 1)
	go func() {
		defer close(batches)
		for start := from; start < to; start += 10000 {
			var b []sqlPerson
			for i := start; i < to && i < start+10000; i++ {
				it := bench.PersonItem(i)
				b = append(b, sqlPerson{i + 1, *it.Data.Email, (*it.Data.Phones)[0], fmt.Sprintf("t%d", i%10), fmt.Sprintf("t%d", i%7)})
			}
			batches <- b
		}
	}()
	defer func() {
		for range batches { // let the producer end on an early return
		}
	}()
	for b := range batches {
		if err := c.insertPeople(b); err != nil {
			return err
		}
	}
	return nil
}

// sqlPerson is one profile row of the import, with its two tags.
type sqlPerson struct {
	id                   int
	email, phone, t1, t2 string
}

// insertPeople inserts one transaction's rows.
func (c *sqliteContender) insertPeople(people []sqlPerson) error {
	tx, err := c.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	profile, err := c.txStmt(tx, `INSERT INTO profiles(id, db, email, phone, crm_id) VALUES (?, 1, ?, ?, ?)`)
	if err != nil {
		return err
	}
	tag, err := c.txStmt(tx, `INSERT OR IGNORE INTO tags(profile, tag) VALUES (?, ?)`)
	if err != nil {
		return err
	}
	for _, p := range people {
		if _, err := profile.Exec(p.id, p.email, p.phone, p.id-1); err != nil {
			return err
		}
		for _, t := range []string{p.t1, p.t2} {
			if _, err := tag.Exec(p.id, t); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

func (c *sqliteContender) Name() string { return "sqlite" }

func (c *sqliteContender) upsert(aQuery string, aArg any, bQuery string, bArg any, set string, like, donate int, online bool) error {
	tx, err := c.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	aStmt, err := c.txStmt(tx, aQuery)
	if err != nil {
		return err
	}
	bStmt, err := c.txStmt(tx, bQuery)
	if err != nil {
		return err
	}
	insert, err := c.txStmt(tx, `INSERT INTO edges(rel, a, b, user_like, donate, is_online, created, updated)
		VALUES (3, ?, ?, ?, ?, ?, unixepoch(), unixepoch())
		ON CONFLICT(rel, a, b) DO UPDATE SET `+set)
	if err != nil {
		return err
	}
	var a, b int64
	if err := aStmt.QueryRow(aArg).Scan(&a); err != nil {
		return fmt.Errorf("profile_a: %w", err)
	}
	if err := bStmt.QueryRow(bArg).Scan(&b); err != nil {
		return fmt.Errorf("profile_b: %w", err)
	}
	if _, err := insert.Exec(a, b, like, donate, online); err != nil {
		return err
	}
	return tx.Commit()
}

const overwriteSet = `user_like = excluded.user_like, donate = excluded.donate, is_online = excluded.is_online, updated = excluded.updated`

func (c *sqliteContender) Overwrite(i int, byEmail bool) error {
	a, b := c.d.populated(i)
	if byEmail {
		return c.upsert(`SELECT id FROM profiles WHERE db = 1 AND email = ?`, bench.Email(a),
			`SELECT id FROM profiles WHERE db = 2 AND sku = ?`, bench.SKU(b), overwriteSet, i, i%1000, i%2 == 0)
	}
	return c.upsert(`SELECT id FROM profiles WHERE db = 1 AND id = ?`, a+1,
		`SELECT id FROM profiles WHERE db = 2 AND id = ?`, c.n+b+1, overwriteSet, i, i%1000, i%2 == 0)
}

func (c *sqliteContender) Strengthen(i int) error {
	a, b := hot(i)
	return c.upsert(`SELECT id FROM profiles WHERE db = 1 AND id = ?`, a+1,
		`SELECT id FROM profiles WHERE db = 2 AND id = ?`, c.n+b+1,
		`user_like = coalesce(user_like, 0) + 1, updated = excluded.updated`, 1, 0, false)
}

func (c *sqliteContender) Page(int) error {
	page, err := c.prepared(`SELECT b, user_like, donate, is_online FROM edges WHERE rel = 3 AND a = 1 ORDER BY b LIMIT 100`)
	if err != nil {
		return err
	}
	rows, err := page.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var b int64
		var like, donate, online sql.NullInt64
		if err := rows.Scan(&b, &like, &donate, &online); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("empty page")
	}
	return rows.Err()
}

func (c *sqliteContender) Counter(big bool) error {
	a := 2
	if big {
		a = 1
	}
	counts, err := c.prepared(`SELECT count(*), count(user_like), sum(user_like), count(CASE WHEN is_online THEN 1 END) FROM edges WHERE rel = 3 AND a = ?`)
	if err != nil {
		return err
	}
	top, err := c.prepared(`SELECT b, donate FROM edges WHERE rel = 3 AND a = ? AND donate IS NOT NULL ORDER BY donate DESC LIMIT 10`)
	if err != nil {
		return err
	}
	var total, likes, online int64
	var sum sql.NullInt64
	if err := counts.QueryRow(a).Scan(&total, &likes, &sum, &online); err != nil {
		return err
	}
	rows, err := top.Query(a)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var b, v int64
		if err := rows.Scan(&b, &v); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (c *sqliteContender) DeleteBig() error {
	tx, err := c.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM edges WHERE rel = 3 AND a = 7`, `DELETE FROM edges WHERE rel = 3 AND b = 7`,
		`DELETE FROM tags WHERE profile = 7`, `DELETE FROM profiles WHERE id = 7`} {
		st, err := c.txStmt(tx, q)
		if err != nil {
			return err
		}
		if _, err := st.Exec(); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (c *sqliteContender) Close() error { return c.db.Close() }
