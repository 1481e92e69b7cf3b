package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/tlog"
	"qorgau.kz/qorgau/internal/witness/witnesstest"
)

// TestWitnessedServe runs serve with a witness policy of two witnesses that
// follow C2SP tlog-witness, files complaints, and expects /log/checkpoint to
// carry both cosignatures, which `qorgau verify --policy` accepts.
func TestWitnessedServe(t *testing.T) {
	w := newWorld(t, 1)
	// The log's key exists before the witnesses are configured with it.
	skey, vkey, err := tlog.GenerateKey("qorgau.test/log")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(w.dir, logKeyFile), []byte(skey+"\n"), 0o600)
	logV, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	var policy strings.Builder
	for _, name := range []string{"w1.test", "w2.test"} {
		wit, err := witnesstest.New(name, "qorgau.test/log", logV)
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(wit)
		t.Cleanup(ts.Close)
		fmt.Fprintf(&policy, "witness %s %s %s\n", strings.TrimSuffix(name, ".test"), wit.VerifierKey(), ts.URL)
	}
	policy.WriteString("group both all w1 w2\nquorum both\n")
	policyFile := filepath.Join(t.TempDir(), "policy.txt")
	os.WriteFile(policyFile, []byte(policy.String()), 0o600)

	srv := startServe(t, w.dir, "-witness-policy", policyFile)
	kt := w.enroll(t, srv.base(), "T-1")
	code, reply := kt.newCode(t)
	for i := range 3 {
		p := kt.seal(t, "жалоба", qorgau.CategoryConditions, []string{"PROS-KZ-35"}, code, reply, fmt.Sprintf("w-%d", i))
		if _, err := kt.Submit(context.Background(), p.envelope, p.routing); err != nil {
			t.Fatal(err)
		}
	}
	// The cosigner runs every second.
	var cp string
	for range 100 {
		resp, err := http.Get(srv.base() + "/log/checkpoint")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cp = string(b)
		if strings.Contains(cp, "\n3\n") && strings.Contains(cp, "— w1.test ") && strings.Contains(cp, "— w2.test ") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(cp, "— w1.test ") || !strings.Contains(cp, "— w2.test ") {
		t.Fatalf("the served checkpoint lacks the witnesses' cosignatures:\n%s", cp)
	}
	stdout, stderr, code2 := runQ(t, nil, "verify", "--log", srv.base()+"/log", "--key", vkey, "--policy", policyFile,
		"--state", filepath.Join(t.TempDir(), "s.json"))
	if code2 != 0 || !strings.Contains(stdout, "witness cosignatures satisfy the policy") {
		t.Errorf("verify --policy = %d\n%s%s", code2, stdout, stderr)
	}
}
