// Package witness asks independent witnesses to cosign the complaint log's
// checkpoints, following the C2SP tlog-witness protocol: for every new
// checkpoint, each configured witness gets an add-checkpoint request with a
// consistency proof from the last size it cosigned, and returns a
// cosignature (C2SP tlog-cosignature) that is merged into the checkpoint the
// log serves.
//
// Witnesses and the quorum are configured with a policy file in the format
// of github.com/transparency-dev/formats/witness:
//
//	witness w1 witness.example.org/w1+6a3f0e1c+AbC… https://witness.example.org/w1
//	witness w2 ombudsman.kz/witness+0b7d…+AdE… https://ombudsman.kz/witness
//	group both all w1 w2
//	quorum both
//
// A witness that reports a larger size than the log now has is the alarm
// this package exists for: the log was rolled back or forked. It is logged
// at error level and counted, never hidden.
package witness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	fwitness "github.com/transparency-dev/formats/witness"
	"golang.org/x/mod/sumdb/note"
	sumtlog "golang.org/x/mod/sumdb/tlog"
)

// Source is the log being witnessed.
type Source interface {
	// Checkpoint returns the latest signed checkpoint (a signed note).
	Checkpoint() []byte
	// ConsistencyProof returns the RFC 6962 consistency proof from tree
	// size old to tree size new; old <= new <= the latest checkpoint size.
	ConsistencyProof(ctx context.Context, old, new int64) (sumtlog.TreeProof, error)
}

// Cosigner gathers cosignatures for a Source's checkpoints. Create it with
// New and run it with Run; Cosigned returns the latest checkpoint with the
// cosignatures gathered for it.
type Cosigner struct {
	src    Source
	policy fwitness.Group
	client *http.Client
	log    *slog.Logger

	// Interval is how often Run looks for a new checkpoint.
	Interval time.Duration

	mu       sync.Mutex
	sizes    map[string]int64 // witness URL → last size it cosigned, -1 if unknown
	cosigned []byte
	size     int64 // size of cosigned
	alarms   int
}

// ParsePolicy parses a witness policy file (see the package documentation).
func ParsePolicy(b []byte) (fwitness.Group, error) { return fwitness.ParsePolicy(b) }

// New returns a cosigner for src under policy. client may be nil.
func New(src Source, policy fwitness.Group, client *http.Client, logger *slog.Logger) *Cosigner {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	c := &Cosigner{src: src, policy: policy, client: client, log: logger, Interval: time.Second, sizes: map[string]int64{}}
	for u := range policy.Endpoints() {
		c.sizes[u] = -1
	}
	return c
}

// Cosigned returns the latest checkpoint with every cosignature gathered for
// it, and whether the policy's quorum is met; nil if none was gathered yet.
func (c *Cosigner) Cosigned() ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cosigned == nil {
		return nil, false
	}
	return c.cosigned, c.policy.Satisfied(c.cosigned)
}

// Alarms returns how many times a witness reported a larger log than the
// source has, since start.
func (c *Cosigner) Alarms() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.alarms
}

// Run witnesses every new checkpoint until ctx is cancelled.
func (c *Cosigner) Run(ctx context.Context) error {
	t := time.NewTicker(c.Interval)
	defer t.Stop()
	for {
		if err := c.Witness(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("witnessing incomplete", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Witness sends the source's latest checkpoint to every witness that has
// not cosigned it yet, and merges the cosignatures. It returns an error
// naming the witnesses that failed; the others' cosignatures are kept.
func (c *Cosigner) Witness(ctx context.Context) error {
	cp := c.src.Checkpoint()
	size, err := checkpointSize(cp)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.cosigned == nil || c.size != size {
		c.cosigned, c.size = cp, size
	}
	type job struct {
		url string
		v   note.Verifier
	}
	var jobs []job
	for u, v := range c.policy.Endpoints() {
		if c.sizes[u] != size || !hasSignature(c.cosigned, v) {
			jobs = append(jobs, job{u, v})
		}
	}
	c.mu.Unlock()

	var wg sync.WaitGroup
	errs := make([]error, len(jobs))
	sigs := make([][]byte, len(jobs))
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sigs[i], errs[i] = c.add(ctx, j.url, j.v, cp, size)
		}()
	}
	wg.Wait()

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.size == size {
		for _, s := range sigs {
			c.cosigned = mergeSignatures(c.cosigned, s)
		}
	}
	return errors.Join(errs...)
}

// errConflict is a witness's 409 answer with the size it last cosigned.
type errConflict struct{ size int64 }

func (e errConflict) Error() string { return fmt.Sprintf("witness last cosigned size %d", e.size) }

// add obtains one witness's cosignature of cp, learning the witness's last
// size from a 409 answer when it is not known.
func (c *Cosigner) add(ctx context.Context, url string, v note.Verifier, cp []byte, size int64) ([]byte, error) {
	c.mu.Lock()
	old := c.sizes[url]
	c.mu.Unlock()
	for attempt := 0; attempt < 2; attempt++ {
		if old < 0 {
			old = 0
		}
		if old > size {
			c.mu.Lock()
			c.alarms++
			c.mu.Unlock()
			c.log.Error("WITNESS HAS SEEN A LARGER LOG: the log was rolled back or forked", "witness", v.Name(), "witness_size", old, "log_size", size)
			return nil, fmt.Errorf("witness %s: it cosigned size %d, the log has only %d", v.Name(), old, size)
		}
		var proof sumtlog.TreeProof
		if old > 0 && old < size {
			var err error
			if proof, err = c.src.ConsistencyProof(ctx, old, size); err != nil {
				return nil, fmt.Errorf("witness %s: consistency proof %d→%d: %w", v.Name(), old, size, err)
			}
		}
		sigs, err := c.post(ctx, url, v, cp, old, proof)
		var conflict errConflict
		if errors.As(err, &conflict) {
			c.setSize(url, conflict.size)
			old = conflict.size
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("witness %s: %w", v.Name(), err)
		}
		c.setSize(url, size)
		return sigs, nil
	}
	return nil, fmt.Errorf("witness %s: keeps answering 409", v.Name())
}

func (c *Cosigner) setSize(url string, size int64) {
	c.mu.Lock()
	c.sizes[url] = size
	c.mu.Unlock()
}

// post sends one add-checkpoint request and returns the verified
// cosignature lines of the answer.
func (c *Cosigner) post(ctx context.Context, url string, v note.Verifier, cp []byte, old int64, proof sumtlog.TreeProof) ([]byte, error) {
	var body bytes.Buffer
	fmt.Fprintf(&body, "old %d\n", old)
	for _, h := range proof {
		fmt.Fprintf(&body, "%s\n", base64.StdEncoding.EncodeToString(h[:]))
	}
	body.WriteString("\n")
	body.Write(cp)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, &body)
	if err != nil {
		return nil, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusConflict:
		n, err := strconv.ParseInt(strings.TrimSpace(string(answer)), 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("409 with a body that is not a size: %q", answer)
		}
		return nil, errConflict{n}
	default:
		return nil, fmt.Errorf("add-checkpoint: %s: %s", resp.Status, strings.TrimSpace(string(answer)))
	}
	// The answer is signature lines; appended to the checkpoint they must
	// verify under the witness's key. Keep only those that do.
	n, err := note.Open(append(append([]byte{}, cp...), answer...), note.VerifierList(v))
	if err != nil {
		return nil, fmt.Errorf("the cosignature does not verify: %w", err)
	}
	var out bytes.Buffer
	for _, s := range n.Sigs {
		fmt.Fprintf(&out, "— %s %s\n", s.Name, s.Base64)
	}
	return out.Bytes(), nil
}

// checkpointSize reads the size line of a checkpoint note.
func checkpointSize(cp []byte) (int64, error) {
	lines := strings.SplitN(string(cp), "\n", 3)
	if len(lines) < 3 {
		return 0, errors.New("checkpoint is too short")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("checkpoint size %q: not a size", lines[1])
	}
	return n, nil
}

// hasSignature reports whether the signed note carries a valid signature of v.
func hasSignature(signed []byte, v note.Verifier) bool {
	n, err := note.Open(signed, note.VerifierList(v))
	return err == nil && len(n.Sigs) > 0
}

// mergeSignatures appends the signature lines in sigs to the signed note,
// skipping lines it already has, and keeps the lines sorted after the
// log's own first signature so the result is the same whatever the order
// in which witnesses answered.
func mergeSignatures(signed, sigs []byte) []byte {
	if len(sigs) == 0 {
		return signed
	}
	i := bytes.LastIndex(signed, []byte("\n\n"))
	if i < 0 {
		return signed
	}
	text, block := signed[:i+2], signed[i+2:]
	var lines []string
	seen := map[string]bool{}
	for _, src := range [][]byte{block, sigs} {
		sc := bufio.NewScanner(bytes.NewReader(src))
		for sc.Scan() {
			l := sc.Text()
			if l != "" && !seen[l] {
				seen[l] = true
				lines = append(lines, l)
			}
		}
	}
	if len(lines) > 1 {
		rest := lines[1:]
		sort.Strings(rest)
	}
	out := append([]byte{}, text...)
	for _, l := range lines {
		out = append(out, l...)
		out = append(out, '\n')
	}
	return out
}
