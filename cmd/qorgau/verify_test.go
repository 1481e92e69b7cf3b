package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"qorgau.kz/qorgau"
)

// TestVerify files complaints through the real server and checks the log
// and a receipt with `qorgau verify`, as an outsider would; then it restores
// the server's data folder from an older copy and expects the server to
// refuse to start and verify to report the rollback.
func TestVerify(t *testing.T) {
	w := newWorld(t, 1)
	srv := startServe(t, w.dir)
	ctx := context.Background()
	kt := w.enroll(t, srv.base(), "T-1")
	code, reply := kt.newCode(t)
	sent := 0
	submit := func(n int) []byte {
		var last []byte
		for i := 0; i < n; i++ {
			sent++
			p := kt.seal(t, "Жалоба", qorgau.CategoryTorture, []string{"NPM", "OMBUDSMAN", "PROS-KZ-35"}, code, reply, fmt.Sprintf("v-%d", sent))
			res, err := kt.Submit(ctx, p.envelope, p.routing)
			if err != nil {
				t.Fatal(err)
			}
			last, _ = base64.StdEncoding.DecodeString(res.Receipt)
		}
		return last
	}
	first := submit(3)
	receiptFile := filepath.Join(t.TempDir(), "receipt.txt")
	os.WriteFile(receiptFile, first, 0o600)
	state := filepath.Join(t.TempDir(), "state.json")
	resp, err := http.Get(srv.base() + "/log/key")
	if err != nil {
		t.Fatal(err)
	}
	vk, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	vkey := strings.TrimSpace(string(vk))
	if out, _, _ := runQ(t, nil, "admin", "log", "key", "-data", w.dir); strings.TrimSpace(out) != vkey {
		t.Errorf("admin log key = %q, the server serves %q", out, vkey)
	}

	verify := func(extra ...string) (string, string, int) {
		return runQ(t, nil, append([]string{"verify", "--log", srv.base() + "/log", "--key", vkey, "--state", state}, extra...)...)
	}
	stdout, stderr, code2 := verify("--receipt", receiptFile)
	if code2 != 0 || !strings.Contains(stdout, "entry 2 is included") || !strings.Contains(stdout, "verified: qorgau.test/log at size 3") {
		t.Fatalf("verify = %d\n%s%s", code2, stdout, stderr)
	}

	// Copy the data folder: the "backup".
	backup := t.TempDir()
	srv.kill()
	copyDir(t, w.dir, backup)
	srv.start()

	submit(5)
	stdout, stderr, code2 = verify("--receipt", receiptFile)
	if code2 != 0 || !strings.Contains(stdout, "consistent with the last verified checkpoint (size 3 → 8)") ||
		!strings.Contains(stdout, "receipt's checkpoint is consistent with the current one (size 3 → 8)") {
		t.Fatalf("verify after growth = %d\n%s%s", code2, stdout, stderr)
	}

	// A wrong key is refused.
	_, otherKey, _ := note.GenerateKey(nil, "qorgau.test/log")
	_, stderr, code2 = runQ(t, nil, "verify", "--log", srv.base()+"/log", "--key", otherKey, "--state", filepath.Join(t.TempDir(), "s"))
	if code2 != 1 || !strings.Contains(stderr, "does not verify") {
		t.Errorf("verify with another key = %d %q", code2, stderr)
	}

	// Restore the old database but keep the state file: the server refuses.
	srv.kill()
	os.Remove(filepath.Join(w.dir, "qorgau.db"))
	os.Remove(filepath.Join(w.dir, "qorgau.db-wal"))
	os.Remove(filepath.Join(w.dir, "qorgau.db-shm"))
	for _, f := range []string{"qorgau.db", "qorgau.db-wal", "qorgau.db-shm"} {
		if b, err := os.ReadFile(filepath.Join(backup, f)); err == nil {
			os.WriteFile(filepath.Join(w.dir, f), b, 0o600)
		}
	}
	_, stderr, code2 = runQ(t, nil, "serve", "-data", w.dir, "-log-origin", "qorgau.test/log", "-addr", freeAddr(t))
	if code2 == 0 || !strings.Contains(stderr, "will not start") {
		t.Fatalf("serve on a database restored from an old backup = exit %d\n%s", code2, stderr)
	}
	t.Logf("serve on an old backup says: %s", lastLine(stderr))

	// Pretend the operator also restored the state file and forced it up:
	// an outside verifier that remembers size 8 sees the rollback.
	os.Remove(filepath.Join(w.dir, logStateFile))
	srv.start()
	_, stderr, code2 = verify()
	if code2 != 1 || !strings.Contains(stderr, "rolled back") {
		t.Errorf("verify against a rolled-back log = %d %q, want exit 1 saying rolled back", code2, stderr)
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		return s[i+1:]
	}
	return s
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
