package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/pgtest"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/tlog"
)

// TestAdminLogErase crypto-shreds a log entry with the real binary, on
// SQLite and PostgreSQL, and checks what must survive it: the log verifies
// at start, its tiles serve and pass `qorgau verify`, the other entries'
// receipts verify, and only the erased object is gone, with one audit
// record saying who and why. Bad input erases nothing.
func TestAdminLogErase(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			db, dir, dbArgs := migratedDB(t, engine)
			skey, vkey, err := tlog.GenerateKey("qorgau.test/log")
			if err != nil {
				t.Fatal(err)
			}
			signer, _, err := tlog.NewSigner(skey)
			if err != nil {
				t.Fatal(err)
			}
			cfg := tlog.Config{Origin: "qorgau.test/log", Signer: signer, VerifierKey: vkey, StateFile: filepath.Join(dir, "log.state")}
			l, err := tlog.Open(ctx, db, cfg)
			if err != nil {
				t.Fatal(err)
			}
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- l.Run(runCtx) }()
			object := func(i int) []byte { return []byte(fmt.Sprintf("sealed envelope %d", i)) }
			var receipts []*tlog.Receipt
			for i := range 6 {
				r, err := l.Append(ctx, tlog.Entry{Kind: "complaint", IdempotencyID: fmt.Sprintf("c-%d", i), Object: object(i), Meta: map[string]string{"region": "KZ-11"}})
				if err != nil {
					t.Fatal(err)
				}
				receipts = append(receipts, r)
			}
			stop()
			if err := <-done; err != nil {
				t.Fatal(err)
			}

			run := func(wantCode int, want string, args ...string) {
				t.Helper()
				out, errOut, code := runQ(t, nil, append(append([]string{"admin", "log", "erase"}, args...), dbArgs...)...)
				if code != wantCode || !strings.Contains(out+errOut, want) {
					t.Fatalf("qorgau admin log erase %s = %d\n%s%s\nwant %d and %q", strings.Join(args, " "), code, out, errOut, wantCode, want)
				}
			}
			run(2, "--reason is required", "--index", "3")
			run(2, "--reason is required", "--index", "3", "--reason", "  ")
			run(2, "--index N is required", "--reason", "court order")
			run(2, "invalid value", "--index", "three", "--reason", "court order")
			run(1, "log entry 6 not found", "--index", "6", "--reason", "court order")
			run(0, "log entry 3 erased", "--index", "3", "--reason", "court order 2-17/2026")
			run(1, "log entry 3 is already erased", "--index", "3", "--reason", "again")

			recs, err := db.AuditRecords(ctx, qorgau.AuditFilter{Action: qorgau.AuditLogErased})
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 1 || recs[0].Target != "log/3" || recs[0].Detail != "reason: court order 2-17/2026" || !strings.HasPrefix(recs[0].Actor, "cli:") {
				t.Fatalf("audit records of erasures = %+v, want one for log/3 with the reason", recs)
			}
			if n, err := db.VerifyAudit(ctx, nil); err != nil || n == 0 {
				t.Errorf("VerifyAudit = %d, %v", n, err)
			}

			// The log still verifies at start.
			l, err = tlog.Open(ctx, db, cfg)
			if err != nil {
				t.Fatalf("Open after the erasure = %v", err)
			}
			if _, _, err := l.Object(ctx, 3); !errors.Is(err, tlog.ErrErased) {
				t.Errorf("Object(3) after the erasure = %v, want ErrErased", err)
			}
			if leaf, err := db.LogLeaf(ctx, 3); err != nil || leaf.Salt != nil || leaf.Object != nil {
				t.Errorf("stored leaf 3 = %+v, %v; want no salt and no object", leaf, err)
			}
			for i := range 6 {
				if i == 3 {
					continue
				}
				r, err := l.Receipt(ctx, int64(i))
				if err != nil {
					t.Fatalf("Receipt(%d) = %v", i, err)
				}
				if err := r.Verify(object(i), l.Verifier()); err != nil {
					t.Errorf("receipt %d after the erasure: %v", i, err)
				}
			}
			// The erased entry's old receipt still proves its object to
			// whoever holds both.
			if err := receipts[3].Verify(object(3), l.Verifier()); err != nil {
				t.Errorf("old receipt of the erased entry: %v", err)
			}

			// The tiles and entry bundles serve, and an independent check
			// of the whole log and of another entry's receipt passes.
			srv := httptest.NewServer(l.Handler())
			defer srv.Close()
			receipt := filepath.Join(dir, "receipt-4")
			if err := os.WriteFile(receipt, receipts[4].Marshal(), 0o600); err != nil {
				t.Fatal(err)
			}
			out, errOut, code := runQ(t, nil, "verify", "--log", srv.URL+"/log", "--key", vkey, "--state", filepath.Join(dir, "verify.json"), "--receipt", receipt)
			if code != 0 || !strings.Contains(out, "entry 4 is included") {
				t.Fatalf("qorgau verify after the erasure = %d\n%s%s", code, out, errOut)
			}
			entries, err := db.LogEntries(ctx, 0, 6)
			if err != nil || !bytes.Equal(entries[3], receipts[3].Record) {
				t.Errorf("entry 3 after the erasure = %q, %v; want its record %q", entries[3], err, receipts[3].Record)
			}
		})
	}
}

// migratedDB returns a migrated database of the engine ("sqlite", in a new
// data directory, or "postgres", a throw-away one), closed at the test's
// end, with that directory and the flags that name the database to the
// CLI.
func migratedDB(t *testing.T, engine string) (db *store.DB, dir string, dbArgs []string) {
	t.Helper()
	ctx := context.Background()
	dir = t.TempDir()
	url, dbArgs := filepath.Join(dir, "qorgau.db"), []string{"-data", dir}
	if engine == "postgres" {
		url = pgtest.NewDatabase(t)
		dbArgs = []string{"-db", url}
	}
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db, dir, dbArgs
}
