package witness

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"
	sumtlog "golang.org/x/mod/sumdb/tlog"

	"qorgau.kz/qorgau/internal/witness/witnesstest"
)

const origin = "qorgau.test/log"

// memLog is a Merkle log in memory with signed checkpoints, built on
// sumdb/tlog, standing in for the real log.
type memLog struct {
	mu     sync.Mutex
	hashes []sumtlog.Hash
	size   int64
	signer note.Signer
	// fork, when set, makes the log sign a tree of other leaves.
	fork bool
}

func newMemLog(t *testing.T) (*memLog, note.Verifier) {
	skey, vkey, err := note.GenerateKey(nil, origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return &memLog{signer: s}, v
}

func (l *memLog) ReadHashes(idx []int64) ([]sumtlog.Hash, error) {
	out := make([]sumtlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = l.hashes[x]
	}
	return out, nil
}

func (l *memLog) append(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 0; i < n; i++ {
		data := fmt.Sprintf("leaf %d", l.size)
		if l.fork {
			data = "forked " + data
		}
		hs, err := sumtlog.StoredHashes(l.size, []byte(data), l)
		if err != nil {
			panic(err)
		}
		l.hashes = append(l.hashes, hs...)
		l.size++
	}
}

func (l *memLog) Checkpoint() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	root, err := sumtlog.TreeHash(l.size, l)
	if err != nil {
		panic(err)
	}
	text := fmt.Sprintf("%s\n%d\n%s\n", origin, l.size, base64.StdEncoding.EncodeToString(root[:]))
	b, err := note.Sign(&note.Note{Text: text}, l.signer)
	if err != nil {
		panic(err)
	}
	return b
}

func (l *memLog) ConsistencyProof(ctx context.Context, old, new int64) (sumtlog.TreeProof, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return sumtlog.ProveTree(new, old, l)
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestCosigner(t *testing.T) {
	lg, logKey := newMemLog(t)
	var keys []string
	var ws []*witnesstest.Witness
	var servers []*httptest.Server
	for _, name := range []string{"w1.test", "w2.test"} {
		w, err := witnesstest.New(name, origin, logKey)
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(w)
		t.Cleanup(ts.Close)
		ws, servers, keys = append(ws, w), append(servers, ts), append(keys, w.VerifierKey())
	}
	policy, err := ParsePolicy([]byte(fmt.Sprintf("witness w1 %s %s\nwitness w2 %s %s\ngroup both all w1 w2\nquorum both\n",
		keys[0], servers[0].URL, keys[1], servers[1].URL)))
	if err != nil {
		t.Fatal(err)
	}
	c := New(lg, policy, nil, discard())
	ctx := context.Background()

	lg.append(5)
	if err := c.Witness(ctx); err != nil {
		t.Fatalf("Witness at size 5 = %v", err)
	}
	cp, quorum := c.Cosigned()
	if !quorum {
		t.Fatalf("after witnessing size 5 the quorum is not met:\n%s", cp)
	}
	if !bytes.HasPrefix(cp, lg.Checkpoint()[:bytes.Index(lg.Checkpoint(), []byte("\n\n"))]) {
		t.Errorf("cosigned checkpoint is not the log's:\n%s", cp)
	}
	// The log's own signature still verifies on the merged note.
	if _, err := note.Open(cp, note.VerifierList(logKey)); err != nil {
		t.Errorf("log signature lost in merge: %v", err)
	}

	// Growth: the witnesses get a consistency proof from 5.
	lg.append(37)
	if err := c.Witness(ctx); err != nil {
		t.Fatalf("Witness at size 42 = %v", err)
	}
	if _, quorum := c.Cosigned(); !quorum {
		t.Error("quorum not met at size 42")
	}
	for i, w := range ws {
		if w.Size() != 42 {
			t.Errorf("witness %d recorded size %d, want 42", i, w.Size())
		}
	}

	// Nothing new: no new requests.
	before := ws[0].Requests()
	if err := c.Witness(ctx); err != nil {
		t.Fatal(err)
	}
	if ws[0].Requests() != before {
		t.Errorf("witnessing an already cosigned checkpoint sent %d requests", ws[0].Requests()-before)
	}

	// A new cosigner (a restarted server) learns the witnesses' sizes from
	// their 409 answers.
	lg.append(8)
	c2 := New(lg, policy, nil, discard())
	if err := c2.Witness(ctx); err != nil {
		t.Fatalf("restarted Witness = %v", err)
	}
	if _, quorum := c2.Cosigned(); !quorum {
		t.Error("restarted cosigner did not reach quorum")
	}
}

func TestCosignerDetectsFork(t *testing.T) {
	lg, logKey := newMemLog(t)
	w, err := witnesstest.New("w.test", origin, logKey)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(w)
	defer ts.Close()
	policy, err := ParsePolicy([]byte(fmt.Sprintf("witness w %s %s\nquorum w\n", w.VerifierKey(), ts.URL)))
	if err != nil {
		t.Fatal(err)
	}
	lg.append(10)
	c := New(lg, policy, nil, discard())
	if err := c.Witness(context.Background()); err != nil {
		t.Fatal(err)
	}

	// The log is restored from an old backup and rewritten: a smaller tree.
	lg2, _ := newMemLog(t)
	lg2.signer = lg.signer
	lg2.append(4)
	c2 := New(lg2, policy, nil, discard())
	if err := c2.Witness(context.Background()); err == nil {
		t.Fatal("witnessing a rolled-back log succeeded")
	}
	if c2.Alarms() != 1 {
		t.Errorf("Alarms = %d after a rollback, want 1", c2.Alarms())
	}
	if _, quorum := c2.Cosigned(); quorum {
		t.Error("a rolled-back checkpoint reached quorum")
	}

	// A fork of the same size or larger: the consistency proof fails (422).
	lg3, _ := newMemLog(t)
	lg3.signer, lg3.fork = lg.signer, true
	lg3.append(12)
	c3 := New(lg3, policy, nil, discard())
	err = c3.Witness(context.Background())
	if err == nil || !strings.Contains(err.Error(), "422") {
		t.Errorf("witnessing a forked log = %v, want the witness's 422", err)
	}
}

func TestMergeSignatures(t *testing.T) {
	cp := []byte("o\n1\nAAAA\n\n— o abc\n")
	got := mergeSignatures(cp, []byte("— w2 zzz\n"))
	got = mergeSignatures(got, []byte("— w1 yyy\n— w2 zzz\n"))
	want := "o\n1\nAAAA\n\n— o abc\n— w1 yyy\n— w2 zzz\n"
	if string(got) != want {
		t.Errorf("mergeSignatures =\n%s\nwant\n%s", got, want)
	}
}
