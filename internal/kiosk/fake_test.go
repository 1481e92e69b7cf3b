package kiosk

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"
	"golang.org/x/mod/sumdb/note"
	sumtlog "golang.org/x/mod/sumdb/tlog"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/complaints"
	"qorgau.kz/qorgau/internal/seal"
	"qorgau.kz/qorgau/internal/sig"
	"qorgau.kz/qorgau/internal/tlog"
)

func TestMain(m *testing.M) {
	// The reply key derivation costs 64 MiB and about 0.2 s per receipt
	// code; the tests seal hundreds. The agent's code path is the same
	// with cheaper parameters; the format's parameters are tested in seal.
	seal.ReplyParams = seal.KDFParams{Memory: 256, Time: 1, Threads: 1}
	os.Exit(m.Run())
}

// fakeServer is the server side of the terminal API at the edge of the
// agent's tests: it checks every signature and envelope as the real
// server does, keeps an in-memory Merkle log whose receipts the agent
// verifies, and takes heartbeats, journals and usage reports. It can be
// cut off (connections are dropped), and can drop the answer of a
// submission it has committed, as a network failure at the worst moment.
type fakeServer struct {
	t  *testing.T
	ts *httptest.Server

	down        atomic.Bool  // drop every connection
	dropAnswers atomic.Int32 // commit the next N submissions, then drop the connection
	badReceipt  atomic.Bool  // answer with receipts for another object
	noFleet     bool         // no heartbeat, journal or usage endpoints (404)

	dirKey   ed25519.PrivateKey
	salt     []byte
	bodyID   map[string]age.Identity
	dir      []byte // signed directory
	signer   note.Signer
	logVKey  string
	tokenUse int

	mu          sync.Mutex
	pub         ed25519.PublicKey
	hashes      []sumtlog.Hash
	leaves      int64
	byIdem      map[string]int64
	complaints  []*fakeComplaint
	submits     int // accepted submissions, retries included
	heartbeats  []qorgau.Heartbeat
	journal     []qorgau.JournalEntry
	journalGaps []journalGap // entries the server lost, as uploads reported them
	usage       map[string]qorgau.UsageReport
	testCodes   map[string]bool // usable test codes, as the kiosk formats them
}

type fakeComplaint struct {
	sub     complaints.Submission
	env     *seal.Envelope
	at      time.Time
	state   map[string]string
	replies []FollowupReply
}

const fakeToken = "enrol-me-once"

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	f := &fakeServer{t: t, bodyID: map[string]age.Identity{}, byIdem: map[string]int64{}, usage: map[string]qorgau.UsageReport{}}
	_, f.dirKey, _ = ed25519.GenerateKey(nil)
	f.salt = seal.NewDeploymentSalt()
	d := &seal.Directory{Version: 3, Issued: time.Now().UTC().Truncate(time.Second), ReplySalt: f.salt}
	for _, b := range []qorgau.Body{
		{Code: "NPM", Kind: qorgau.BodyNPM, NameKK: "ҰАТ", NameRU: "НПМ", NameEN: "NPM"},
		{Code: "OMBUDSMAN", Kind: qorgau.BodyOmbudsman, NameKK: "Уәкіл", NameRU: "Уполномоченный", NameEN: "Ombudsman"},
		{Code: "PROS-KZ-35", Kind: qorgau.BodyProsecutor, Region: "KZ-35", NameKK: "Прокуратура ҚО", NameRU: "Прокуратура КО", NameEN: "Prosecutor KR"},
	} {
		id, err := seal.NewBodyKey(false)
		if err != nil {
			t.Fatal(err)
		}
		f.bodyID[b.Code] = id
		d.Bodies = append(d.Bodies, seal.DirectoryBody{Body: b, KeyVersion: 1, Recipient: seal.RecipientOf(id)})
	}
	var err error
	if f.dir, err = seal.SignDirectory(d, f.dirKey); err != nil {
		t.Fatal(err)
	}
	skey, vkey, err := tlog.GenerateKey("fake.test/log")
	if err != nil {
		t.Fatal(err)
	}
	if f.signer, _, err = tlog.NewSigner(skey); err != nil {
		t.Fatal(err)
	}
	f.logVKey = vkey
	f.ts = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.ts.Close)
	return f
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	if f.down.Load() {
		hangUp(w)
		return
	}
	body, _ := io.ReadAll(r.Body)
	fail := func(status int, format string, a ...any) {
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"error": "x", "message": fmt.Sprintf(format, a...)})
	}
	answer := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	if r.URL.Path == "/api/terminal/v1/enroll" {
		var req enrollRequestT
		json.Unmarshal(body, &req)
		pub, _ := base64.StdEncoding.DecodeString(req.PublicKey)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.tokenUse++
		if req.Token != fakeToken || f.pub != nil || len(pub) != ed25519.PublicKeySize {
			fail(http.StatusUnauthorized, "bad token")
			return
		}
		f.pub = pub
		answer(Enrollment{Device: "T-1", Facility: "EC-166-1", Interval: 60, LogKey: f.logVKey,
			DirectoryKey: base64.StdEncoding.EncodeToString(f.dirKey.Public().(ed25519.PublicKey)),
			ReplySalt:    base64.StdEncoding.EncodeToString(f.salt), ServerTime: time.Now().Unix()})
		return
	}
	if r.URL.Path == "/log/checkpoint" {
		f.mu.Lock()
		defer f.mu.Unlock()
		w.Write(f.signCheckpoint())
		return
	}
	// Every other request is signed by the enrolled device.
	f.mu.Lock()
	pub := f.pub
	f.mu.Unlock()
	ts, _ := qorgau.ParseDeviceTime(r.Header.Get(qorgau.HeaderTimestamp))
	dr := qorgau.DeviceRequest{Method: r.Method, Path: r.URL.RequestURI(), Body: body, DeviceID: r.Header.Get(qorgau.HeaderDevice),
		Time: ts, Nonce: r.Header.Get(qorgau.HeaderNonce)}
	signature, err := qorgau.ParseDeviceSignature(r.Header.Get(qorgau.HeaderSignature))
	if pub == nil || dr.DeviceID != "T-1" || err != nil || !sig.Verify(pub, dr.Message(), signature) {
		fail(http.StatusUnauthorized, "bad signature")
		return
	}
	path := r.URL.Path
	switch {
	case r.Method == "GET" && path == "/api/terminal/v1/directory":
		w.Write(f.dir)
	case r.Method == "GET" && path == "/api/terminal/v1/facility":
		answer(FacilityInfo{Code: "EC-166-1", Name: "Учреждение ЕЦ-166/1", Region: "KZ-35",
			Zones: []qorgau.TerminalZone{{Code: "B1", Name: "Отряд 1", Kind: qorgau.ZoneCellBlock}}})
	case r.Method == "POST" && path == "/api/terminal/v1/complaints":
		f.submit(w, r, body, fail, answer)
	case r.Method == "POST" && path == "/api/terminal/v1/test-codes/check":
		var req struct {
			Code string `json:"test_code"`
		}
		json.Unmarshal(body, &req)
		f.mu.Lock()
		defer f.mu.Unlock()
		if !f.testCodes[req.Code] {
			fail(http.StatusForbidden, "the test code is not valid")
			return
		}
		answer(map[string]bool{"usable": true})
	case r.Method == "GET" && strings.HasPrefix(path, "/api/terminal/v1/followup/"):
		f.followup(strings.TrimPrefix(path, "/api/terminal/v1/followup/"), answer)
	case r.Method == "POST" && strings.HasPrefix(path, "/api/terminal/v1/complaints/") && strings.HasSuffix(path, "/read"):
		id, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(path, "/api/terminal/v1/complaints/"), "/read"), 10, 64)
		var req struct{ Lookup string }
		json.Unmarshal(body, &req)
		f.mu.Lock()
		defer f.mu.Unlock()
		if id < 0 || id >= int64(len(f.complaints)) || f.complaints[id].sub.LookupID != req.Lookup {
			fail(http.StatusNotFound, "not found")
			return
		}
		for b, st := range f.complaints[id].state {
			if st == string(qorgau.StateAnswered) {
				f.complaints[id].state[b] = string(qorgau.StateAnswerDelivered)
			}
		}
		answer(map[string]any{"complaint": id})
	case f.noFleet:
		fail(http.StatusNotFound, "no such route")
	case r.Method == "POST" && path == "/api/terminal/v1/heartbeat":
		var hb qorgau.Heartbeat
		if err := json.Unmarshal(body, &hb); err != nil {
			fail(http.StatusBadRequest, "%v", err)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.heartbeats = append(f.heartbeats, hb)
		seq, _ := f.journalHead()
		answer(qorgau.HeartbeatReply{ServerTime: time.Now().Unix(), LogSize: f.leaves, JournalSeq: seq})
	case r.Method == "POST" && path == "/api/terminal/v1/journal":
		var req struct {
			Entries []qorgau.JournalEntry
			After   *qorgau.JournalLink
		}
		if err := json.Unmarshal(body, &req); err != nil {
			fail(http.StatusBadRequest, "%v", err)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		seq, prev := f.journalHead()
		if a := req.After; a != nil && seq < a.Seq {
			f.journalGaps = append(f.journalGaps, journalGap{from: seq + 1, after: *a})
			seq, prev = a.Seq, a.Hash
		}
		if err := qorgau.CheckJournal(seq, prev, req.Entries); err != nil {
			fail(http.StatusBadRequest, "%s", qorgau.ErrorMessage(err))
			return
		}
		f.journal = append(f.journal, req.Entries...)
		seq, _ = f.journalHead()
		answer(map[string]int64{"journal_seq": seq})
	case r.Method == "POST" && path == "/api/terminal/v1/usage":
		var u qorgau.UsageReport
		if err := json.Unmarshal(body, &u); err != nil || u.Validate() != nil {
			fail(http.StatusBadRequest, "bad usage report")
			return
		}
		f.mu.Lock()
		f.usage[u.Day] = u
		f.mu.Unlock()
		answer(map[string]any{})
	default:
		fail(http.StatusNotFound, "no such route %s %s", r.Method, path)
	}
}

type enrollRequestT struct {
	Token     string `json:"token"`
	PublicKey string `json:"public_key"`
}

// hangUp drops the connection without an answer, as a cut cable does.
func hangUp(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// submit checks a submission like the real server (signature, routing
// matches the encryption, urgent bodies present), logs it once per
// idempotency id and answers with a receipt.
func (f *fakeServer) submit(w http.ResponseWriter, r *http.Request, body []byte, fail func(int, string, ...any), answer func(any)) {
	q := r.URL.Query()
	env, err := seal.ParseEnvelope(body, 0)
	if err != nil {
		fail(http.StatusBadRequest, "%v", err)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if env.Verify(f.pub) != nil {
		fail(http.StatusBadRequest, "signature")
		return
	}
	bodies := strings.Split(q.Get("bodies"), ",")
	slices.Sort(bodies)
	var keyed []string
	for code, id := range f.bodyID {
		if slices.Contains(env.KeyIDs, seal.KeyID(seal.RecipientOf(id))) {
			keyed = append(keyed, code)
		}
	}
	slices.Sort(keyed)
	if !slices.Equal(bodies, keyed) {
		fail(http.StatusBadRequest, "named %v, encrypted to %v", bodies, keyed)
		return
	}
	cat := qorgau.Category(q.Get("category"))
	urgent := q.Get("urgent") == "1" || cat.IsUrgent()
	if urgent && !slices.Contains(bodies, "NPM") {
		fail(http.StatusBadRequest, "an urgent complaint must also go to NPM")
		return
	}
	if q.Get("test") == "1" && !f.testCodes[q.Get("test_code")] {
		fail(http.StatusForbidden, "the test code is not valid")
		return
	}
	sub := complaints.Submission{Device: "T-1", Facility: "EC-166-1", Region: "KZ-35", Bodies: bodies, Category: cat,
		Urgent: urgent, Test: q.Get("test") == "1", LookupID: q.Get("lookup"), Envelope: body}
	id, ok := f.byIdem[env.IdempotencyID]
	if !ok {
		id = int64(len(f.complaints))
		f.byIdem[env.IdempotencyID] = id
		st := map[string]string{}
		for _, b := range bodies {
			st[b] = string(qorgau.StateDelivered)
		}
		f.complaints = append(f.complaints, &fakeComplaint{sub: sub, env: env, at: time.Now().UTC(), state: st})
	}
	f.submits++
	obj := sub.Marshal()
	if f.badReceipt.Load() {
		obj = append(obj, 'x')
	}
	receipt := f.appendLeaf(obj)
	if n := f.dropAnswers.Load(); n > 0 {
		f.dropAnswers.Add(-1)
		hangUp(w)
		return
	}
	answer(Submitted{Complaint: id, Bodies: bodies, Receipt: base64.StdEncoding.EncodeToString(receipt)})
}

// appendLeaf adds a leaf committing to obj and returns its receipt against
// the new checkpoint. (A retry adds a leaf again; the real log does not,
// but the agent must not care.)
func (f *fakeServer) appendLeaf(obj []byte) []byte {
	salt := make([]byte, tlog.SaltSize)
	rand.Read(salt)
	rec, err := (&tlog.Record{Kind: "complaint", Commitment: tlog.Commit(salt, obj)}).Marshal()
	if err != nil {
		f.t.Error(err)
		return nil
	}
	hr := f.hashReader()
	hs, err := sumtlog.StoredHashes(f.leaves, rec, hr)
	if err != nil {
		f.t.Error(err)
		return nil
	}
	f.hashes = append(f.hashes, hs...)
	index := f.leaves
	f.leaves++
	proof, err := sumtlog.ProveRecord(f.leaves, index, hr)
	if err != nil {
		f.t.Error(err)
		return nil
	}
	cp := f.signCheckpoint()
	return (&tlog.Receipt{Index: index, Salt: salt, Record: rec, Proof: proof, Checkpoint: cp}).Marshal()
}

func (f *fakeServer) followup(lookup string, answer func(any)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []map[string]any{}
	for id, c := range f.complaints {
		if c.sub.LookupID != lookup {
			continue
		}
		events := []map[string]any{}
		for b := range c.state {
			events = append(events, map[string]any{"body": b, "at": c.at, "state": "delivered"})
		}
		replies := []FollowupReply{}
		replies = append(replies, c.replies...)
		out = append(out, map[string]any{"complaint": id, "received": c.at, "bodies": c.state, "events": events, "replies": replies})
	}
	answer(map[string]any{"complaints": out})
}

// reply answers complaint id as a member of body: it opens the envelope
// with the body's key and seals the answer to the complainant's reply key.
func (f *fakeServer) reply(id int64, body, text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.complaints[id]
	doc, err := c.env.Open(f.bodyID[body])
	if err != nil {
		f.t.Fatal(err)
	}
	to, err := seal.ParseRecipient(doc.Reply.Recipient)
	if err != nil {
		f.t.Fatal(err)
	}
	own, _ := seal.ParseRecipient(seal.RecipientOf(f.bodyID[body]))
	ct, err := seal.SealReply(text, to, own)
	if err != nil {
		f.t.Fatal(err)
	}
	c.replies = append(c.replies, FollowupReply{Body: body, At: time.Now().UTC(), Ciphertext: ct})
	c.state[body] = string(qorgau.StateAnswered)
}

// open decrypts complaint id with a body's key, as a member would.
func (f *fakeServer) open(id int64, body string) *seal.Document {
	f.mu.Lock()
	defer f.mu.Unlock()
	doc, err := f.complaints[id].env.Open(f.bodyID[body])
	if err != nil {
		f.t.Fatal(err)
	}
	return doc
}

func (f *fakeServer) count() (complaints, submits int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.complaints), f.submits
}

func (f *fakeServer) hashReader() sumtlog.HashReader {
	return sumtlog.HashReaderFunc(func(idx []int64) ([]sumtlog.Hash, error) {
		out := make([]sumtlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = f.hashes[x]
		}
		return out, nil
	})
}

// signCheckpoint signs the log's current size and root.
func (f *fakeServer) signCheckpoint() []byte {
	root, err := sumtlog.TreeHash(f.leaves, f.hashReader())
	if err != nil {
		f.t.Error(err)
	}
	cp, err := note.Sign(&note.Note{Text: tlog.Checkpoint{Origin: "fake.test/log", Size: f.leaves, Root: root}.String()}, f.signer)
	if err != nil {
		f.t.Error(err)
	}
	return cp
}

// journalHead returns the last journal entry held; f.mu is held.
func (f *fakeServer) journalHead() (int64, string) {
	if n := len(f.journal); n > 0 {
		return f.journal[n-1].Seq, f.journal[n-1].Hash
	}
	return 0, qorgau.JournalGenesis
}

// journalGap is a journal upload that chained to an entry the server did
// not hold: entries from .from to .after.Seq are lost.
type journalGap struct {
	from  int64
	after qorgau.JournalLink
}
