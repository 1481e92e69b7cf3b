// Package witnesstest is a witness that follows C2SP tlog-witness, for
// tests: it stands in for an independent witness at the edge of the system.
// It keeps one log's latest cosigned size in memory.
package witnesstest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	sumtlog "golang.org/x/mod/sumdb/tlog"
)

// Witness verifies the log's signature, the old size, the consistency
// proof, and cosigns with a cosignature/v1 key.
type Witness struct {
	Origin string
	LogKey note.Verifier

	mu       sync.Mutex
	signer   note.Signer
	vkey     string
	size     int64
	root     sumtlog.Hash
	requests int
}

// New returns a witness named name for the log with the given origin and
// verifier.
func New(name, origin string, logKey note.Verifier) (*Witness, error) {
	skey, vkey, err := note.GenerateKey(nil, name)
	if err != nil {
		return nil, err
	}
	s, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		return nil, err
	}
	cvkey, err := fnote.VKeyToCosignatureV1(vkey)
	if err != nil {
		return nil, err
	}
	return &Witness{Origin: origin, LogKey: logKey, signer: s, vkey: cvkey}, nil
}

// VerifierKey is the witness's cosignature/v1 verifier key, for a policy.
func (w *Witness) VerifierKey() string { return w.vkey }

// Size returns the size of the latest checkpoint the witness cosigned.
func (w *Witness) Size() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.size
}

// Requests returns how many add-checkpoint requests it has served.
func (w *Witness) Requests() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.requests
}

// ServeHTTP answers POST …/add-checkpoint.
func (w *Witness) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/add-checkpoint") {
		http.Error(rw, "not found", http.StatusNotFound)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.requests++
	body, _ := io.ReadAll(r.Body)
	head, cp, ok := bytes.Cut(body, []byte("\n\n"))
	if !ok {
		http.Error(rw, "no empty line", http.StatusBadRequest)
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(head))
	sc.Scan()
	oldStr, ok := strings.CutPrefix(sc.Text(), "old ")
	old, err := strconv.ParseInt(oldStr, 10, 64)
	if !ok || err != nil {
		http.Error(rw, "bad old line", http.StatusBadRequest)
		return
	}
	var proof sumtlog.TreeProof
	for sc.Scan() {
		b, err := base64.StdEncoding.DecodeString(sc.Text())
		if err != nil || len(b) != 32 {
			http.Error(rw, "bad proof line", http.StatusBadRequest)
			return
		}
		proof = append(proof, sumtlog.Hash(b))
	}
	n, err := note.Open(cp, note.VerifierList(w.LogKey))
	if err != nil {
		http.Error(rw, "bad signature", http.StatusForbidden)
		return
	}
	lines := strings.Split(n.Text, "\n")
	if lines[0] != w.Origin {
		http.Error(rw, "unknown log", http.StatusNotFound)
		return
	}
	size, _ := strconv.ParseInt(lines[1], 10, 64)
	rootB, _ := base64.StdEncoding.DecodeString(lines[2])
	root := sumtlog.Hash(rootB)
	if old > size {
		http.Error(rw, "old > size", http.StatusBadRequest)
		return
	}
	if old != w.size {
		rw.Header().Set("Content-Type", "text/x.tlog.size")
		rw.WriteHeader(http.StatusConflict)
		fmt.Fprintf(rw, "%d\n", w.size)
		return
	}
	if old == size && root != w.root {
		http.Error(rw, "same size, other root", http.StatusConflict)
		return
	}
	if old > 0 && old < size {
		if err := sumtlog.CheckTree(proof, size, root, old, w.root); err != nil {
			http.Error(rw, "inconsistent", http.StatusUnprocessableEntity)
			return
		}
	}
	w.size, w.root = size, root
	signed, err := note.Sign(&note.Note{Text: n.Text}, w.signer)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}
	_, sigs, _ := bytes.Cut(signed, []byte("\n\n"))
	rw.Write(sigs)
}
