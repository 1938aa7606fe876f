package relgraph

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The crash test: a child process (this test binary, re-executed) runs
// profile imports, overwrites, strengthens, detaches and profile deletes
// from several goroutines through the group commit, and prints a line
// before each operation and after each acknowledgement. The parent kills
// it with SIGKILL at a random moment, reopens the file, and checks that
// it opens, passes bbolt's check and Check, and holds every acknowledged
// operation: each worker's state is exactly what its acknowledged
// operations made, or that plus its one operation in flight. The
// change feed is on, and must hold exactly the changes of the writes the
// store holds: dense from 1, each worker's in the order it wrote them.
//
//	go test -run TestCrash -crash.iterations 500 .   # the long run

var crashIterations = flag.Int("crash.iterations", 8, "kills in TestCrashRecovery")

const crashWorkers = 4

func TestCrashRecovery(t *testing.T) {
	if os.Getenv("RELGRAPH_CRASH_CHILD") != "" {
		t.Skip("in the child")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	models := map[int]*crashModel{}
	acked := 0
	for iter := 0; iter < *crashIterations; iter++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
		cmd.Env = append(os.Environ(), "RELGRAPH_CRASH_CHILD="+path, "RELGRAPH_CRASH_ITER="+strconv.Itoa(iter))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Kill after a random time once the child is writing: the timer
		// starts at its first line, not at its start, which on a loaded
		// machine (a race-built child) can take longer than the timer.
		var kill <-chan time.Time
		stuck := time.After(2 * time.Minute)
		killed := false
		for !killed {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("iteration %d: the child exited on its own: %v", iter, cmd.Wait())
				}
				if kill == nil {
					kill = time.After(time.Duration(30+rand.IntN(300)) * time.Millisecond)
				}
				acked += applyCrashLine(t, models, line)
			case <-kill:
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			case <-stuck:
				cmd.Process.Signal(syscall.SIGKILL)
				t.Fatalf("iteration %d: the child wrote nothing in 2 minutes", iter)
			}
		}
		for line := range lines { // what it printed before dying
			acked += applyCrashLine(t, models, line)
		}
		cmd.Wait()
		verifyCrashStore(t, path, models, iter)
	}
	t.Logf("%d kills survived, %d acknowledged operations verified", *crashIterations, acked)
	if acked < *crashIterations {
		t.Fatalf("only %d acknowledged operations in %d runs: the child barely ran", acked, *crashIterations)
	}
}

// crashModel is one worker's state as its log says, with the operation
// in flight (started, not acknowledged).
type crashModel struct {
	profiles map[int]bool             // A_k exists
	rels     map[int]map[string]int64 // A_k – B weights
	inflight []string                 // the started operation's fields
	everK    map[int]bool
	events   []string // the feed's changes these operations wrote, in order (see feedEvent)
}

func newCrashModel() *crashModel {
	return &crashModel{profiles: map[int]bool{}, rels: map[int]map[string]int64{}, everK: map[int]bool{}}
}

func (m *crashModel) clone() *crashModel {
	c := newCrashModel()
	for k, v := range m.profiles {
		c.profiles[k] = v
	}
	for k, w := range m.rels {
		c.rels[k] = map[string]int64{}
		for p, v := range w {
			c.rels[k][p] = v
		}
	}
	for k := range m.everK {
		c.everK[k] = true
	}
	c.events = slices.Clone(m.events)
	return c
}

// apply performs one logged operation on the model.
func (m *crashModel) apply(op []string) {
	k, _ := strconv.Atoi(op[1])
	m.everK[k] = true
	rel := func() map[string]int64 {
		if m.rels[k] == nil {
			m.rels[k] = map[string]int64{}
		}
		return m.rels[k]
	}
	// A relation write's change: created or updated, with its weights.
	relEvent := func(existed bool) {
		kind := "rel~"
		if !existed {
			kind = "rel+"
		}
		m.events = append(m.events, feedEvent(kind, k, m.rels[k]))
	}
	switch op[0] {
	case "ia":
		m.profiles[k] = true
		m.events = append(m.events, feedEvent("+p", k, nil))
	case "st":
		d, _ := strconv.ParseInt(op[2], 10, 64)
		existed := m.rels[k] != nil
		rel()["user_like"] += d
		relEvent(existed)
	case "ow":
		v, _ := strconv.ParseInt(op[2], 10, 64)
		existed := m.rels[k] != nil
		if old, ok := m.rels[k]["donate"]; existed && ok && old == v {
			return // byte-identical: nothing written, no change
		}
		rel()["donate"] = v
		relEvent(existed)
	case "dt":
		delete(m.rels, k)
		m.events = append(m.events, feedEvent("rel-", k, nil))
	case "dl":
		if m.rels[k] != nil {
			m.events = append(m.events, feedEvent("rel-", k, nil))
		}
		delete(m.profiles, k)
		delete(m.rels, k)
		m.events = append(m.events, feedEvent("-p", k, nil))
	}
}

// feedEvent is a change as the crash test compares it: its kind, the
// worker's profile number k, and a relation's weights after it.
func feedEvent(kind string, k int, weights map[string]int64) string {
	e := kind + " " + strconv.Itoa(k)
	for _, p := range slices.Sorted(maps.Keys(weights)) {
		e += fmt.Sprintf(" %s=%d", p, weights[p])
	}
	return e
}

// applyCrashLine reads "S w op k [n]" (started) or "A w" (acknowledged)
// and returns 1 per acknowledgement.
func applyCrashLine(t *testing.T, models map[int]*crashModel, line string) int {
	f := strings.Fields(line)
	if len(f) < 2 || (f[0] != "S" && f[0] != "A") {
		return 0 // test framework output
	}
	w, _ := strconv.Atoi(f[1])
	m := models[w]
	if m == nil {
		m = newCrashModel()
		models[w] = m
	}
	if f[0] == "S" {
		m.inflight = f[2:]
		return 0
	}
	m.apply(m.inflight)
	m.inflight = nil
	return 1
}

func verifyCrashStore(t *testing.T, path string, models map[int]*crashModel, iter int) {
	t.Helper()
	s, err := Open(path, nil)
	if err != nil {
		t.Fatalf("iteration %d: the store does not open after a kill: %v", iter, err)
	}
	defer s.Close()
	for _, err := range s.CheckFile(ctx) {
		t.Fatalf("iteration %d: bbolt check: %v", iter, err)
	}
	problems, err := s.Check(ctx)
	if err != nil || len(problems) > 0 {
		t.Fatalf("iteration %d: check: %v %v", iter, err, problems)
	}
	for w, m := range models {
		got := readCrashState(t, s, w, m)
		if sameCrashState(got, m) {
			m.inflight = nil
			continue
		}
		if m.inflight != nil {
			with := m.clone()
			with.apply(m.inflight)
			if sameCrashState(got, with) {
				*m = *with // the operation committed; its ack was lost
				continue
			}
		}
		t.Fatalf("iteration %d: worker %d: store has %v %v, acknowledged %v %v (in flight %v)",
			iter, w, got.profiles, got.rels, m.profiles, m.rels, m.inflight)
	}
	verifyCrashFeed(t, s, models, iter)
}

// verifyCrashFeed reads the whole feed and holds it to the models (each
// already decided on its operation in flight): numbers dense from 1,
// and each worker's changes exactly the ones its writes made, in order,
// after the creation of its B. A worker killed before its first line
// may have created its B or not.
func verifyCrashFeed(t *testing.T, s *Store, models map[int]*crashModel, iter int) {
	t.Helper()
	type who struct{ w, k int }
	as := map[ProfileID]who{}
	bs := map[ProfileID]int{}
	got := map[int][]string{}
	want := uint64(1)
	for {
		page, err := s.ReadChanges(ctx, want-1, MaxChangesPage)
		if err != nil {
			t.Fatalf("iteration %d: read the feed from %d: %v", iter, want-1, err)
		}
		if len(page) == 0 {
			break
		}
		for _, c := range page {
			if c.Seq != want {
				t.Fatalf("iteration %d: the feed gives change %d where %d is next", iter, c.Seq, want)
			}
			want++
			var w int
			var e string
			switch c.Kind {
			case ProfileCreated, ProfileDeleted:
				p := c.Profile.After
				if p == nil {
					p = c.Profile.Before
				}
				var k int
				switch {
				case c.Profile.DatabaseID == 1 && c.Kind == ProfileCreated:
					if _, err := fmt.Sscanf(p.Email, "w%d-a%d@x.io", &w, &k); err != nil {
						t.Fatalf("iteration %d: change %d creates %q", iter, c.Seq, p.Email)
					}
					as[p.ID] = who{w, k}
					e = feedEvent("+p", k, nil)
				case c.Profile.DatabaseID == 1:
					a, ok := as[p.ID]
					if !ok {
						t.Fatalf("iteration %d: change %d deletes a profile no change created", iter, c.Seq)
					}
					w, e = a.w, feedEvent("-p", a.k, nil)
				case c.Kind == ProfileCreated:
					if _, err := fmt.Sscanf(p.Fields["sku"].(string), "w%d", &w); err != nil {
						t.Fatalf("iteration %d: change %d creates %v", iter, c.Seq, p.Fields)
					}
					bs[p.ID] = w
					e = "+b"
				default:
					t.Fatalf("iteration %d: change %d deletes a B profile", iter, c.Seq)
				}
			case RelationCreated, RelationUpdated, RelationDeleted:
				r := c.Relation
				a, okA := as[r.A]
				bw, okB := bs[r.B]
				if !okA || !okB || a.w != bw {
					t.Fatalf("iteration %d: change %d is a relation between %s and %s, not a worker's A and B", iter, c.Seq, r.A, r.B)
				}
				w = a.w
				switch c.Kind {
				case RelationDeleted:
					e = feedEvent("rel-", a.k, nil)
				default:
					weights := map[string]int64{}
					for p, v := range r.After.Weights {
						weights[p] = v.(int64)
					}
					kind := "rel~"
					if c.Kind == RelationCreated {
						kind = "rel+"
					}
					e = feedEvent(kind, a.k, weights)
				}
			default:
				t.Fatalf("iteration %d: change %d is a %s", iter, c.Seq, c.Kind)
			}
			got[w] = append(got[w], e)
		}
	}
	for w, m := range models {
		if !slices.Equal(got[w], append([]string{"+b"}, m.events...)) {
			t.Fatalf("iteration %d: worker %d: the feed holds %q, its writes made %q", iter, w, got[w], append([]string{"+b"}, m.events...))
		}
	}
	for w, events := range got {
		if models[w] == nil && !slices.Equal(events, []string{"+b"}) {
			t.Fatalf("iteration %d: worker %d wrote nothing it acknowledged, the feed holds %q", iter, w, events)
		}
	}
}

func readCrashState(t *testing.T, s *Store, w int, m *crashModel) *crashModel {
	got := newCrashModel()
	ks := map[int]bool{}
	for k := range m.everK {
		ks[k] = true
	}
	if m.inflight != nil {
		k, _ := strconv.Atoi(m.inflight[1])
		ks[k] = true
	}
	for k := range ks {
		a, err := s.Match(ctx, 1, Locator{Email: crashEmail(w, k)})
		if codeOf(err) == 404 {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got.profiles[k] = true
		page, err := s.Relations(ctx, RelationsQuery{RelationType: 3, A: idLoc(a)})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			w := map[string]int64{}
			for p, v := range it.Weights {
				w[p] = v.(int64)
			}
			got.rels[k] = w
		}
	}
	return got
}

func sameCrashState(a, b *crashModel) bool {
	if len(a.profiles) != len(b.profiles) || len(a.rels) != len(b.rels) {
		return false
	}
	for k := range a.profiles {
		if !b.profiles[k] {
			return false
		}
	}
	for k, w := range a.rels {
		v, ok := b.rels[k]
		if !ok || len(v) != len(w) {
			return false
		}
		for p := range w {
			if w[p] != v[p] {
				return false
			}
		}
	}
	return true
}

func crashEmail(w, k int) string { return fmt.Sprintf("w%d-a%d@x.io", w, k) }

// TestCrashChild is the child's body; it runs only when re-executed.
func TestCrashChild(t *testing.T) {
	path := os.Getenv("RELGRAPH_CRASH_CHILD")
	if path == "" {
		t.Skip("runs only as the child of TestCrashRecovery")
	}
	iter, _ := strconv.Atoi(os.Getenv("RELGRAPH_CRASH_ITER"))
	s, err := Open(path, nil) // durable commits
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(3)
	}
	testSchema(t, s)
	if err := s.SetChangeFeed(ctx, FeedConfig{On: true}); err != nil {
		fmt.Fprintln(os.Stderr, "child: feed on:", err)
		os.Exit(3)
	}
	var out sync.Mutex
	say := func(line string) {
		out.Lock()
		io.WriteString(os.Stdout, line+"\n") // one write: one line
		out.Unlock()
	}
	var wg sync.WaitGroup
	for i := 0; i < crashWorkers; i++ {
		w := iter*crashWorkers + i
		wg.Add(1)
		go func() {
			defer wg.Done()
			crashWorker(s, w, say)
		}()
	}
	wg.Wait()
}

// crashWorker runs random valid operations on its own profiles forever.
func crashWorker(s *Store, w int, say func(string)) {
	rng := rand.New(rand.NewPCG(uint64(w), 7))
	b, _, err := s.ImportProfile(ctx, 2, Locator{}, ProfileData{Fields: map[string]any{"sku": fmt.Sprintf("w%d", w)}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	m := newCrashModel()
	next := 0
	for {
		var op []string
		var existing []int
		for k := range m.profiles {
			existing = append(existing, k)
		}
		var withRel []int
		for k := range m.rels {
			withRel = append(withRel, k)
		}
		slices.Sort(existing)
		slices.Sort(withRel)
		pick := func(ks []int) int { return ks[rng.IntN(len(ks))] }
		switch r := rng.IntN(10); {
		case len(existing) == 0 || r == 0:
			op = []string{"ia", strconv.Itoa(next)}
			next++
		case r <= 4:
			op = []string{"st", strconv.Itoa(pick(existing)), strconv.Itoa(1 + rng.IntN(9))}
		case r <= 6:
			op = []string{"ow", strconv.Itoa(pick(existing)), strconv.Itoa(rng.IntN(1000))}
		case r <= 8 && len(withRel) > 0:
			op = []string{"dt", strconv.Itoa(pick(withRel))}
		default:
			op = []string{"dl", strconv.Itoa(pick(existing))}
		}
		say("S " + strconv.Itoa(w) + " " + strings.Join(op, " "))
		k, _ := strconv.Atoi(op[1])
		a := Locator{Email: crashEmail(w, k)}
		req := RelationRequest{RelationType: 3, A: a, B: idLoc(b)}
		switch op[0] {
		case "ia":
			_, _, err = s.ImportProfile(ctx, 1, a, ProfileData{})
		case "st":
			d, _ := strconv.Atoi(op[2])
			req.Weights = map[string]any{"user_like": d}
			_, err = s.Modify(ctx, req)
		case "ow":
			v, _ := strconv.Atoi(op[2])
			req.Weights = map[string]any{"donate": v}
			_, err = s.Overwrite(ctx, req)
		case "dt":
			_, err = s.Detach(ctx, req)
		case "dl":
			_, err = s.DeleteProfile(ctx, 1, a)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "child: worker %d: %v failed: %v\n", w, op, err)
			os.Exit(3)
		}
		m.apply(op)
		say("A " + strconv.Itoa(w))
	}
}
