package tlog

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	sumtlog "golang.org/x/mod/sumdb/tlog"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/pgtest"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	if durable.c != nil {
		durable.c.Stop()
	}
	os.Exit(code)
}

const testOrigin = "qorgau.example/log"

var testKey = sync.OnceValues(func() (string, string) {
	skey, vkey, err := GenerateKey(testOrigin)
	if err != nil {
		panic(err)
	}
	return skey, vkey
})

// testConfig returns a Config with the test key and no state file.
func testConfig(t testing.TB) Config {
	t.Helper()
	skey, _ := testKey()
	s, vkey, err := NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return Config{Origin: testOrigin, Signer: s, VerifierKey: vkey}
}

func openDB(t testing.TB, url string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("store.Open(%s) = %v", url, err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate = %v", err)
	}
	return db
}

// rawDB opens the database at url with database/sql directly, to change
// what the store would not.
func rawDB(t testing.TB, url string) *sql.DB {
	t.Helper()
	var raw *sql.DB
	var err error
	if strings.HasPrefix(url, "postgres") {
		raw, err = sql.Open("pgx", url)
	} else {
		raw, err = sql.Open("sqlite", "file:"+url+"?_pragma=busy_timeout(10000)")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// tamper runs statements against the log tables with the append-only
// triggers out of the way.
func tamper(t testing.TB, url string, stmts ...string) {
	t.Helper()
	raw := rawDB(t, url)
	pg := strings.HasPrefix(url, "postgres")
	tables := []string{"log_leaves", "log_hash_runs", "log_checkpoints"}
	var pre []string
	for _, tb := range tables {
		if pg {
			pre = append(pre, "ALTER TABLE "+tb+" DISABLE TRIGGER USER")
		} else {
			pre = append(pre, "DROP TRIGGER IF EXISTS "+tb+"_no_update", "DROP TRIGGER IF EXISTS "+tb+"_no_delete")
		}
	}
	for _, s := range append(pre, stmts...) {
		if _, err := raw.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// running is an open log whose sequencer runs until the test ends or stop
// is called.
type running struct {
	*Log
	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned err
	err    error
}

func (r *running) stop(t testing.TB) {
	t.Helper()
	r.cancel()
	<-r.done
	if r.err != nil {
		t.Fatalf("Run = %v", r.err)
	}
}

var copies atomic.Int64

func start(t testing.TB, db *store.DB, cfg Config) *running {
	t.Helper()
	l, err := Open(context.Background(), db, cfg)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Log: l, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = l.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
		}
	})
	return r
}

func entry(i int) Entry {
	return Entry{
		Kind:          []string{"complaint", "status", "evidence"}[i%3],
		IdempotencyID: fmt.Sprintf("id-%d", i),
		Object:        []byte(fmt.Sprintf("envelope %d", i)),
		Meta:          map[string]string{"region": fmt.Sprintf("KZ-%02d", 10+i%20)},
	}
}

func mustAppend(t testing.TB, l *running, e Entry) *Receipt {
	t.Helper()
	r, err := l.Append(context.Background(), e)
	if err != nil {
		t.Fatalf("Append(%s) = %v", e.IdempotencyID, err)
	}
	return r
}

// appendN appends entries from..to-1 from conc goroutines.
func appendN(t testing.TB, l *running, from, to, conc int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, to-from)
	next := make(chan int)
	for g := 0; g < conc; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if _, err := l.Append(context.Background(), entry(i)); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := from; i < to; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Append = %v", err)
	}
}

func TestAppendReceipt(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		cfg := testConfig(t)
		l := start(t, db, cfg)
		v := l.Verifier()
		if l.Size() != 0 {
			t.Fatalf("new log Size() = %d, want 0", l.Size())
		}
		if _, err := OpenCheckpoint(l.Checkpoint(), v); err != nil {
			t.Fatalf("empty log's checkpoint: %v", err)
		}
		var receipts []*Receipt
		for i := 0; i < 20; i++ {
			e := entry(i)
			r := mustAppend(t, l, e)
			if r.Index != int64(i) {
				t.Errorf("Append #%d: index %d", i, r.Index)
			}
			if err := VerifyReceipt(r.Marshal(), e.Object, v); err != nil {
				t.Errorf("VerifyReceipt(#%d) = %v", i, err)
			}
			if err := VerifyReceipt(r.Marshal(), []byte("another object"), v); err == nil {
				t.Errorf("VerifyReceipt(#%d, wrong object) = nil, want an error", i)
			}
			rec, err := ParseRecord(r.Record)
			if err != nil || rec.Kind != e.Kind || rec.Meta["region"] != e.Meta["region"] {
				t.Errorf("receipt #%d record = %+v, %v", i, rec, err)
			}
			receipts = append(receipts, r)
		}
		appendN(t, l, 20, 300, 16)
		if l.Size() != 300 {
			t.Fatalf("Size() = %d, want 300", l.Size())
		}
		// Old receipts stay valid; fresh ones prove against the newest checkpoint.
		for i, old := range receipts {
			if err := old.Verify(entry(i).Object, v); err != nil {
				t.Errorf("old receipt %d: %v", i, err)
			}
			r, err := l.Receipt(ctx, int64(i))
			if err != nil {
				t.Fatalf("Receipt(%d) = %v", i, err)
			}
			if !bytes.Equal(r.Checkpoint, l.Checkpoint()) || !bytes.Equal(r.Salt, old.Salt) {
				t.Errorf("Receipt(%d) is not against the latest checkpoint or has another salt", i)
			}
			if err := VerifyReceipt(r.Marshal(), entry(i).Object, v); err != nil {
				t.Errorf("VerifyReceipt(Receipt(%d)) = %v", i, err)
			}
			salt, obj, err := l.Object(ctx, int64(i))
			if err != nil || !bytes.Equal(salt, old.Salt) || !bytes.Equal(obj, entry(i).Object) {
				t.Errorf("Object(%d) = %x, %q, %v", i, salt, obj, err)
			}
		}
		if _, err := l.Receipt(ctx, 300); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			t.Errorf("Receipt(300) = %v, want ENOTFOUND", err)
		}
		// A receipt under another key does not verify.
		_, otherV, _ := note.GenerateKey(rand.Reader, testOrigin)
		ov, _ := note.NewVerifier(otherV)
		if err := receipts[0].Verify(entry(0).Object, ov); err == nil {
			t.Error("Verify with another key = nil, want an error")
		}
		// Consistency between checkpoints.
		p, err := l.ConsistencyProof(ctx, 20, 300)
		if err != nil {
			t.Fatal(err)
		}
		c20, _ := OpenCheckpoint(receipts[19].Checkpoint, v)
		c300, _ := OpenCheckpoint(l.Checkpoint(), v)
		if err := sumtlog.CheckTree(p, 300, c300.Root, 20, c20.Root); err != nil {
			t.Errorf("consistency proof 20 → 300: %v", err)
		}
		for _, c := range [][2]int64{{0, 300}, {300, 300}, {0, 0}} {
			if p, err := l.ConsistencyProof(ctx, c[0], c[1]); err != nil || len(p) != 0 {
				t.Errorf("ConsistencyProof(%d, %d) = %v, %v; want an empty proof", c[0], c[1], p, err)
			}
		}
		for _, c := range [][2]int64{{-1, 300}, {20, 301}, {30, 20}} {
			if _, err := l.ConsistencyProof(ctx, c[0], c[1]); qorgau.ErrorCode(err) != qorgau.EINVALID {
				t.Errorf("ConsistencyProof(%d, %d) = %v, want EINVALID", c[0], c[1], err)
			}
		}
	})
}

func TestAppendInvalid(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "q.db"))
	l := start(t, db, testConfig(t))
	for _, e := range []Entry{
		{Kind: "complaint", Object: []byte("x")},
		{Kind: "Complaint", IdempotencyID: "a", Object: []byte("x")},
		{Kind: "complaint", IdempotencyID: "a b", Object: []byte("x")},
		{Kind: "complaint", IdempotencyID: strings.Repeat("a", MaxIdempotencyID+1)},
		{Kind: "complaint", IdempotencyID: "a", Meta: map[string]string{"Region": "x"}},
		{Kind: "complaint", IdempotencyID: "a", Meta: map[string]string{"region": "a\nb"}},
	} {
		if _, err := l.Append(context.Background(), e); qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("Append(%+v) = %v, want EINVALID", e, err)
		}
	}
}

func TestIdempotency(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		cfg := testConfig(t)
		l := start(t, db, cfg)
		e := entry(1)
		r1 := mustAppend(t, l, e)
		r2 := mustAppend(t, l, e)
		if r1.Index != r2.Index || !bytes.Equal(r1.Salt, r2.Salt) || l.Size() != 1 {
			t.Fatalf("same id twice: indexes %d, %d, size %d; want one entry", r1.Index, r2.Index, l.Size())
		}
		other := e
		other.Object = []byte("something else")
		if _, err := l.Append(ctx, other); qorgau.ErrorCode(err) != qorgau.ECONFLICT {
			t.Errorf("same id, other object: %v, want ECONFLICT", err)
		}
		other = e
		other.Meta = map[string]string{"region": "KZ-99"}
		if _, err := l.Append(ctx, other); qorgau.ErrorCode(err) != qorgau.ECONFLICT {
			t.Errorf("same id, other meta: %v, want ECONFLICT", err)
		}

		// Concurrently: 64 appenders, 8 ids, two of them also tried with
		// other content. Per id, whichever content came first wins; the
		// other gets ECONFLICT.
		var wg sync.WaitGroup
		var mu sync.Mutex
		type win struct {
			index int64
			obj   string
		}
		wins := map[string]win{}
		for g := 0; g < 64; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e := entry(100 + g%8)
				if g%16 == 15 {
					e.Object = []byte("conflicting")
				}
				r, err := l.Append(ctx, e)
				mu.Lock()
				defer mu.Unlock()
				if qorgau.ErrorCode(err) == qorgau.ECONFLICT && g%8 == 7 {
					return
				}
				if err != nil {
					t.Errorf("Append = %v", err)
					return
				}
				w, ok := wins[e.IdempotencyID]
				if ok && (w.index != r.Index || w.obj != string(e.Object)) {
					t.Errorf("id %s: index %d for %q and %d for %q", e.IdempotencyID, w.index, w.obj, r.Index, e.Object)
				}
				wins[e.IdempotencyID] = win{r.Index, string(e.Object)}
			}()
		}
		wg.Wait()
		if l.Size() != 9 || len(wins) != 8 {
			t.Errorf("after concurrent appends of 8 ids: size %d, %d ids; want 9 and 8", l.Size(), len(wins))
		}

		// Across a restart.
		l.stop(t)
		l2 := start(t, db, cfg)
		r3 := mustAppend(t, l2, e)
		if r3.Index != r1.Index || l2.Size() != 9 {
			t.Errorf("same id after restart: index %d size %d, want %d and 9", r3.Index, l2.Size(), r1.Index)
		}
		if err := r3.Verify(e.Object, l2.Verifier()); err != nil {
			t.Error(err)
		}
	})
}

func TestRestart(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		cfg := testConfig(t)
		l := start(t, db, cfg)
		appendN(t, l, 0, 517, 8)
		cp := l.Checkpoint()
		l.stop(t)
		if _, err := l.Append(context.Background(), entry(999)); !errors.Is(err, errStopped) {
			t.Errorf("Append after Run returned = %v, want %v", err, errStopped)
		}

		l2 := start(t, db, cfg)
		if !bytes.Equal(l2.Checkpoint(), cp) || l2.Size() != 517 {
			t.Fatalf("after restart: size %d, checkpoint changed: %v", l2.Size(), !bytes.Equal(l2.Checkpoint(), cp))
		}
		appendN(t, l2, 517, 600, 4)
		old, _ := OpenCheckpoint(cp, l2.Verifier())
		p, err := l2.ConsistencyProof(context.Background(), 517, 600)
		if err != nil {
			t.Fatal(err)
		}
		now, _ := OpenCheckpoint(l2.Checkpoint(), l2.Verifier())
		if err := sumtlog.CheckTree(p, now.Size, now.Root, old.Size, old.Root); err != nil {
			t.Errorf("not consistent across the restart: %v", err)
		}
		// A third open also sees all of it.
		l2.stop(t)
		if _, err := Open(context.Background(), db, cfg); err != nil {
			t.Fatal(err)
		}
	})
}

func TestOpenChecksConfig(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "q.db"))
	good := testConfig(t)
	_, otherV, _ := GenerateKey(testOrigin)
	_, wrongName, _ := GenerateKey("other.example/log")
	for name, cfg := range map[string]Config{
		"no signer":       {Origin: testOrigin, VerifierKey: good.VerifierKey},
		"other origin":    {Origin: "other.example/log", Signer: good.Signer, VerifierKey: good.VerifierKey},
		"other key":       {Origin: testOrigin, Signer: good.Signer, VerifierKey: otherV},
		"other key name":  {Origin: testOrigin, Signer: good.Signer, VerifierKey: wrongName},
		"bad vkey":        {Origin: testOrigin, Signer: good.Signer, VerifierKey: "nonsense"},
		"no origin":       {Signer: good.Signer, VerifierKey: good.VerifierKey},
		"state file dir":  {Origin: testOrigin, Signer: good.Signer, VerifierKey: good.VerifierKey, StateFile: t.TempDir()},
		"state not saved": {Origin: testOrigin, Signer: good.Signer, VerifierKey: good.VerifierKey, StateFile: "/nonexistent/dir/state"},
	} {
		if _, err := Open(context.Background(), db, cfg); err == nil {
			t.Errorf("Open with %s = nil, want an error", name)
		}
	}
	// Another key on a log signed with the first one.
	skey2, vkey2, _ := GenerateKey(testOrigin)
	s2, _, _ := NewSigner(skey2)
	if _, err := Open(context.Background(), db, good); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), db, Config{Origin: testOrigin, Signer: s2, VerifierKey: vkey2}); err == nil {
		t.Error("Open with another key than the log's = nil, want an error")
	}
}

func TestTamper(t *testing.T) {
	type tc struct {
		name string
		sql  []string
		want string // in the error
	}
	cases := func(pg bool) []tc {
		blob := func(b []byte) string {
			if pg {
				return fmt.Sprintf(`'\x%x'::bytea`, b)
			}
			return fmt.Sprintf(`X'%x'`, b)
		}
		// Stored hashes are kept in runs (log_hash_runs): runOf selects
		// the run holding id, setHash overwrites id in it.
		runOf := func(id int64) string {
			return fmt.Sprintf(`first_id = (SELECT MAX(first_id) FROM log_hash_runs WHERE first_id <= %d)`, id)
		}
		setHash := func(id int64, h []byte) string {
			if pg {
				return fmt.Sprintf(`UPDATE log_hash_runs SET hashes = overlay(hashes placing %s from ((%d - first_id) * 32 + 1)::int for 32) WHERE %s`, blob(h), id, runOf(id))
			}
			return fmt.Sprintf(`UPDATE log_hash_runs SET hashes = CAST(substr(hashes, 1, (%d - first_id) * 32) || %s || substr(hashes, (%d - first_id) * 32 + 33) AS BLOB) WHERE %s`,
				id, blob(h), id, runOf(id))
		}
		forgedHash := bytes.Repeat([]byte{1}, 32)
		rec := Record{Kind: "complaint", Meta: map[string]string{"region": "KZ-11"}}
		forged, _ := rec.Marshal()
		return []tc{
			{"leaf entry", []string{`UPDATE log_leaves SET entry = ` + blob(forged) + ` WHERE idx = 36`}, "entry 36 does not match the tree"},
			{"leaf kind", []string{`UPDATE log_leaves SET kind = 'complaint' WHERE idx = 37`}, "entry 37: its row says kind"},
			{"leaf hash", []string{setHash(sumtlog.StoredHashIndex(0, 50), forgedHash)}, "entry 50 does not match the tree"},
			{"inner hash", []string{setHash(sumtlog.StoredHashIndex(3, 5), forgedHash)}, "level 3 above entry 47"},
			{"missing hash", []string{`DELETE FROM log_hash_runs WHERE ` + runOf(sumtlog.StoredHashIndex(0, 60))}, "is missing"},
			{"cut hash run", []string{`UPDATE log_hash_runs SET hashes = substr(hashes, 1, 40) WHERE ` + runOf(sumtlog.StoredHashIndex(0, 71))}, "is 8 bytes"},
			{"missing leaf", []string{`DELETE FROM log_leaves WHERE idx = 10`}, "entry 10 is missing"},
			{"last leaf", []string{`DELETE FROM log_leaves WHERE idx = 99`}, "holds only 99"},
			{"old checkpoint root", []string{`UPDATE log_checkpoints SET root = ` + blob(make([]byte, 32)) + ` WHERE size = (SELECT MIN(size) FROM log_checkpoints WHERE size > 0)`}, "the checkpoint or the entries were changed"},
			{"latest checkpoint root", []string{`UPDATE log_checkpoints SET root = ` + blob(make([]byte, 32)) + ` WHERE size = 100`}, "its signed note says"},
			{"latest checkpoint signature", []string{`UPDATE log_checkpoints SET note = REPLACE(note, '— ', '— x') WHERE size = 100`}, "not valid"},
			{"checkpoints gone", []string{`DELETE FROM log_checkpoints`}, "no checkpoint"},
			// The latest checkpoint alone missing is a crash before it was
			// stored (see TestUnstoredCheckpoint); two are not.
			{"latest checkpoints gone", []string{`DELETE FROM log_checkpoints WHERE size > 98`}, "more entries than the latest checkpoint's 98, from 2 batches"},
		}
	}
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		cfg := testConfig(t)
		l := start(t, db, cfg)
		for i := 0; i < 100; i += 10 {
			appendN(t, l, i, i+10, 1) // one by one: entry i at index i
		}
		l.stop(t)
		db.Close()
		for _, c := range cases(strings.HasPrefix(url, "postgres")) {
			t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
				// Each case on its own copy of the database.
				u := copyDB(t, url)
				tamper(t, u, c.sql...)
				db := openDB(t, u)
				_, err := Open(context.Background(), db, cfg)
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("Open after changing the %s = %v, want an error with %q", c.name, err, c.want)
				}
				t.Logf("%s: %v", c.name, err)
			})
		}
		// The untouched database still opens.
		if _, err := Open(context.Background(), openDB(t, copyDB(t, url)), cfg); err != nil {
			t.Fatalf("Open of the untouched copy = %v", err)
		}
	})
}

// copyDB returns the URL of a copy of the (closed) database at url.
func copyDB(t testing.TB, url string) string {
	t.Helper()
	if !strings.HasPrefix(url, "postgres") {
		dst := filepath.Join(t.TempDir(), "copy.db")
		for _, suffix := range []string{"", "-wal"} {
			b, err := os.ReadFile(url + suffix)
			if errors.Is(err, os.ErrNotExist) && suffix != "" {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst+suffix, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dst
	}
	i := strings.LastIndex(url, "/")
	j := strings.Index(url, "?")
	src := url[i+1 : j]
	name := fmt.Sprintf("%s_c%d", src, copies.Add(1))
	admin := rawDB(t, url[:i+1]+"postgres"+url[j:])
	if _, err := admin.Exec(fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, src)); err != nil {
		t.Fatal(err)
	}
	return url[:i+1] + name + url[j:]
}

func TestStateFile(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		cfg := testConfig(t)
		cfg.StateFile = filepath.Join(t.TempDir(), "log-state")
		l := start(t, db, cfg)
		appendN(t, l, 0, 40, 4)
		l.stop(t)
		db.Close()
		backup := copyDB(t, url) // 40 entries

		db = openDB(t, url)
		l = start(t, db, cfg)
		appendN(t, l, 40, 70, 4)
		l.stop(t)
		saved, err := os.ReadFile(cfg.StateFile)
		if err != nil || !bytes.Equal(saved, l.Checkpoint()) {
			t.Fatalf("state file after stop = %q, %v; want the latest checkpoint", saved, err)
		}

		// The old backup is refused.
		_, err = Open(ctx, openDB(t, backup), cfg)
		if err == nil || !strings.Contains(err.Error(), "database is older than the last published checkpoint 70") {
			t.Fatalf("Open of a backup at 40 with the state at 70 = %v, want the old-backup error", err)
		}
		t.Log(err)

		// A different log of the same key and a larger size is refused too.
		other := openDB(t, freshURL(t, url))
		lo := start(t, other, testConfig(t))
		appendN(t, lo, 1000, 1080, 8)
		lo.stop(t)
		_, err = Open(ctx, other, cfg)
		if err == nil || !strings.Contains(err.Error(), "the database was replaced or rewritten") {
			t.Fatalf("Open of another log with the state file = %v, want the rewritten error", err)
		}
		t.Log(err)

		// Without the state file, the backup opens (with a warning), and
		// the file is written again.
		os.Remove(cfg.StateFile)
		if _, err := Open(ctx, openDB(t, backup), cfg); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(cfg.StateFile); err != nil || len(b) == 0 {
			t.Errorf("state file not recreated: %v", err)
		}
		// A state file that is not a checkpoint of this log is refused.
		os.WriteFile(cfg.StateFile, []byte("garbage"), 0o600)
		if _, err := Open(ctx, db, cfg); err == nil {
			t.Error("Open with a garbage state file = nil, want an error")
		}
	})
}

// freshURL returns a new empty database on the same engine as url.
func freshURL(t *testing.T, url string) string {
	if strings.HasPrefix(url, "postgres") {
		return pgtest.NewDatabase(t)
	}
	return filepath.Join(t.TempDir(), "fresh.db")
}

func TestErase(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		cfg := testConfig(t)
		l := start(t, db, cfg)
		var receipts []*Receipt
		for i := 0; i < 5; i++ {
			receipts = append(receipts, mustAppend(t, l, entry(i)))
		}
		if err := l.Erase(ctx, 2, nil); err != nil {
			t.Fatal(err)
		}
		if err := l.Erase(ctx, 2, nil); qorgau.ErrorCode(err) != qorgau.ECONFLICT {
			t.Errorf("second Erase = %v, want ECONFLICT", err)
		}
		if err := l.Erase(ctx, 5, nil); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			t.Errorf("Erase(5) = %v, want ENOTFOUND", err)
		}
		if _, _, err := l.Object(ctx, 2); !errors.Is(err, ErrErased) || qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			t.Errorf("Object(erased) = %v, want ErrErased and ENOTFOUND", err)
		}
		if _, err := l.Receipt(ctx, 2); !errors.Is(err, ErrErased) {
			t.Errorf("Receipt(erased) = %v, want ErrErased", err)
		}
		if _, err := l.Append(ctx, entry(2)); qorgau.ErrorCode(err) != qorgau.ECONFLICT {
			t.Errorf("Append of an erased entry's id = %v, want ECONFLICT", err)
		}
		appendN(t, l, 5, 10, 2)
		// The receipt issued before still proves the object; the others
		// still verify against the new checkpoint.
		if err := receipts[2].Verify(entry(2).Object, l.Verifier()); err != nil {
			t.Errorf("old receipt of the erased entry: %v", err)
		}
		for _, i := range []int64{0, 1, 3, 4} {
			r, err := l.Receipt(ctx, i)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Verify(entry(int(i)).Object, l.Verifier()); err != nil {
				t.Errorf("receipt %d after erase: %v", i, err)
			}
		}
		l.stop(t)
		// The tree is intact: Open verifies it.
		if _, err := Open(ctx, db, cfg); err != nil {
			t.Fatalf("Open after Erase = %v", err)
		}
	})
}

func TestFrontierProofs(t *testing.T) {
	// Inclusion proofs for the leaves of a batch need only the hashes of
	// the tree before the batch's edge and the batch's own: check over many
	// shapes with no fallback to storage.
	all := map[int64]sumtlog.Hash{}
	f := newFrontier()
	for _, batch := range []int{1, 1, 2, 3, 1, 8, 5, 16, 17, 100, 1, 255, 256, 257, 1000, 3, 1024, 7} {
		view := make(map[int64]sumtlog.Hash)
		for k, v := range f.h {
			view[k] = v
		}
		first := f.n
		for i := 0; i < batch; i++ {
			n := f.n
			leaf := sumtlog.RecordHash([]byte(fmt.Sprint(n)))
			hs, err := f.append(leaf)
			if err != nil {
				t.Fatal(err)
			}
			want, err := sumtlog.StoredHashes(n, []byte(fmt.Sprint(n)), sumtlog.HashReaderFunc(func(ids []int64) ([]sumtlog.Hash, error) {
				out := make([]sumtlog.Hash, len(ids))
				for i, id := range ids {
					out[i] = all[id]
				}
				return out, nil
			}))
			if err != nil || fmt.Sprint(hs) != fmt.Sprint(want) {
				t.Fatalf("leaf %d: frontier gives %v, storage %v (%v)", n, hs, want, err)
			}
			for k, h := range hs {
				all[sumtlog.StoredHashIndex(0, n)+int64(k)] = h
				view[sumtlog.StoredHashIndex(0, n)+int64(k)] = h
			}
		}
		if len(f.h) != len(frontierIDs(f.n)) {
			t.Fatalf("size %d: frontier holds %d hashes, want %d", f.n, len(f.h), len(frontierIDs(f.n)))
		}
		root, err := f.root()
		if err != nil {
			t.Fatal(err)
		}
		for i := first; i < f.n; i++ {
			p, err := sumtlog.ProveRecord(f.n, i, hashMap{m: view})
			if err != nil {
				t.Fatalf("ProveRecord(%d, %d) from memory: %v", f.n, i, err)
			}
			if err := sumtlog.CheckRecord(p, f.n, root, i, sumtlog.RecordHash([]byte(fmt.Sprint(i)))); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// recordingSigner is a note.Signer that keeps every checkpoint it signed.
type recordingSigner struct {
	note.Signer
	mu     sync.Mutex
	signed map[int64]map[sumtlog.Hash]bool
}

func (s *recordingSigner) Sign(msg []byte) ([]byte, error) {
	c, err := ParseCheckpoint(string(msg))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.signed[c.Size] == nil {
		s.signed[c.Size] = make(map[sumtlog.Hash]bool)
	}
	s.signed[c.Size][c.Root] = true
	s.mu.Unlock()
	return s.Signer.Sign(msg)
}

// forks returns the sizes for which s signed more than one root.
func (s *recordingSigner) forks() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sizes []int64
	for n, roots := range s.signed {
		if len(roots) > 1 {
			sizes = append(sizes, n)
		}
	}
	return sizes
}

func TestSecondSequencer(t *testing.T) {
	// Two logs on one database (a misconfiguration): neither may fork the
	// tree. A batch prepared on a stale tree fails with ECONFLICT, and the
	// sequencer reloads the tree, so a retry succeeds. The failed batch's
	// root, which differs from the committed one of the same size, is
	// never signed: the key signs only roots of committed data.
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		cfg := testConfig(t)
		rec := &recordingSigner{Signer: cfg.Signer, signed: make(map[int64]map[sumtlog.Hash]bool)}
		cfg.Signer = rec
		l1, l2 := start(t, db, cfg), start(t, db, cfg)
		conflicts := 0
		for i := 0; i < 20; i++ {
			l := []*running{l1, l2}[i%2]
			_, err := l.Append(ctx, entry(i))
			if qorgau.ErrorCode(err) == qorgau.ECONFLICT {
				conflicts++
				_, err = l.Append(ctx, entry(i))
			}
			if err != nil {
				t.Fatalf("Append #%d = %v", i, err)
			}
		}
		if conflicts == 0 {
			t.Error("no ECONFLICT from the second sequencer")
		}
		if f := rec.forks(); len(f) > 0 {
			t.Errorf("two different roots signed for sizes %v", f)
		}
		l1.stop(t)
		l2.stop(t)
		l, err := Open(ctx, db, cfg)
		if err != nil {
			t.Fatalf("Open after two sequencers = %v", err)
		}
		if l.Size() != 20 {
			t.Fatalf("size %d, want 20", l.Size())
		}
		for i := int64(0); i < 20; i++ {
			r, err := l.Receipt(ctx, i)
			if err != nil {
				t.Fatal(err)
			}
			salt, obj, _ := l.Object(ctx, i)
			if err := r.Verify(obj, l.Verifier()); err != nil || !bytes.Equal(salt, r.Salt) {
				t.Errorf("entry %d: %v", i, err)
			}
		}
	})
}

func TestUnstoredCheckpoint(t *testing.T) {
	// A batch's checkpoint is signed after the batch commits and stored
	// with the next batch or a moment later; a crash in between leaves
	// the leaves without their checkpoint. Open signs it again: the same
	// bytes as the receipts carry.
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		cfg := testConfig(t)
		cfg.StateFile = filepath.Join(t.TempDir(), "log.state")
		l := start(t, db, cfg)
		appendN(t, l, 0, 10, 1)
		last, err := l.Append(ctx, entry(10))
		if err != nil {
			t.Fatal(err)
		}
		l.stop(t)
		db.Close()
		u := copyDB(t, url)
		tamper(t, u, `DELETE FROM log_checkpoints WHERE size = 11`)
		db2 := openDB(t, u)
		if cp, err := db2.LatestLogCheckpoint(ctx); err != nil || cp.Size != 10 {
			t.Fatalf("LatestLogCheckpoint after the deletion = %+v, %v; want size 10", cp, err)
		}
		// A standby (of a server on PostgreSQL) serves only stored
		// checkpoints, signs and stores nothing, and accepts the state
		// file of the checkpoint it published last, as the sequencer.
		sb := cfg
		sb.Standby = true
		if l, err := Open(ctx, db2, sb); err != nil || l.Size() != 10 {
			t.Fatalf("Open as a standby with the last checkpoint unstored = %v; want size 10", err)
		}
		if cp, err := db2.LatestLogCheckpoint(ctx); err != nil || cp.Size != 10 {
			t.Fatalf("LatestLogCheckpoint after a standby opened = %+v, %v; want size 10, nothing stored", cp, err)
		}
		l2, err := Open(ctx, db2, cfg)
		if err != nil {
			t.Fatalf("Open with the last checkpoint unstored = %v", err)
		}
		if l2.Size() != 11 || !bytes.Equal(l2.Checkpoint(), last.Checkpoint) {
			t.Fatalf("Open: size %d, checkpoint %q; want 11, %q", l2.Size(), l2.Checkpoint(), last.Checkpoint)
		}
		cp, err := db2.LatestLogCheckpoint(ctx)
		if err != nil || cp.Size != 11 || !bytes.Equal(cp.Note, last.Checkpoint) {
			t.Fatalf("stored checkpoint after Open = %+v, %v; want the receipt's", cp, err)
		}
	})
}
