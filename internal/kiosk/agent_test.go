package kiosk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/seal"
	"qorgau.kz/qorgau/internal/tlog"
)

type runningAgent struct {
	*Agent
	stop func()
	done chan error
}

func agentConfig(f *fakeServer, dir string) Config {
	return Config{Server: f.ts.URL, DataDir: dir, Token: fakeToken, HTTP: &http.Client{Timeout: 5 * time.Second},
		Heartbeat: 50 * time.Millisecond, RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		Refresh: 100 * time.Millisecond, TamperPoll: 20 * time.Millisecond}
}

func startAgent(t *testing.T, cfg Config) *runningAgent {
	t.Helper()
	a, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ra := &runningAgent{Agent: a, done: make(chan error, 1)}
	go func() { ra.done <- a.Run(ctx) }()
	stopped := false
	ra.stop = func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-ra.done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	}
	t.Cleanup(ra.stop)
	return ra
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func draft(text string) *Draft {
	return &Draft{Lang: "ru", Bodies: []string{"PROS-KZ-35"}, Category: qorgau.CategoryMedical, Zone: "B1",
		When: "today", PartOfDay: "morning", Text: text}
}

// TestAgentOfflineDeliversOnce queues complaints while the server is cut
// off, then checks that each arrives exactly once when it returns, that
// nothing readable was written to disk, and that the journal recording the
// loss and the return reaches the server.
func TestAgentOfflineDeliversOnce(t *testing.T) {
	f := newFakeServer(t)
	dir := t.TempDir()
	a := startAgent(t, agentConfig(f, dir))
	waitFor(t, "the first heartbeat", func() bool { return a.Online() })

	f.down.Store(true)
	waitFor(t, "the agent to notice the loss", func() bool { return !a.Online() })
	const n = 30
	texts := map[string]bool{}
	var codes []string
	for i := range n {
		d := draft(fmt.Sprintf("Меня не водят к врачу, секрет-%03d", i))
		texts[d.Text] = true
		if i == 0 {
			d.Identity = &seal.Identity{Name: "Айгерім Серікқызы", Detail: "отряд 7"}
		}
		s, err := a.Send(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Queued || len(s.Code) != 19 {
			t.Fatalf("Send offline = %+v, want a queued 16-digit code in groups", s)
		}
		codes = append(codes, strings.ReplaceAll(s.Code, " ", ""))
	}
	if got := a.Status().Outbox; got != n {
		t.Fatalf("outbox = %d, want %d", got, n)
	}
	// Nothing readable on disk: no text, no code, no identity.
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		for _, secret := range append([]string{"секрет", "Айгерім", "отряд 7", "врачу"}, codes...) {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds %q", p, secret)
			}
		}
		if st, _ := d.Info(); st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is readable by others: %v", p, st.Mode())
		}
		return nil
	})

	f.down.Store(false)
	waitFor(t, "the outbox to empty", func() bool { return a.Status().Outbox == 0 })
	got, _ := f.count()
	if got != n {
		t.Fatalf("the server holds %d complaints, want %d", got, n)
	}
	for i := range int64(n) {
		doc := f.open(i, "PROS-KZ-35")
		if !texts[doc.Text] {
			t.Errorf("complaint %d: text %q was not sent, or twice", i, doc.Text)
		}
		delete(texts, doc.Text)
		if doc.Facility != "EC-166-1" || doc.Zone != "B1" || doc.IncidentFrom.IsZero() || doc.Reply == nil {
			t.Errorf("complaint %d: document %+v lacks facility, zone, time or reply address", i, doc)
		}
	}
	// The journal, with the loss and the return, reaches the server.
	waitFor(t, "the journal upload", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		queuedAndDelivered := 0
		for _, e := range f.journal {
			if e.Kind == qorgau.JournalSubmitted {
				queuedAndDelivered++
			}
		}
		return queuedAndDelivered >= 2*n
	})
	f.mu.Lock()
	kinds := map[qorgau.JournalKind]int{}
	for _, e := range f.journal {
		kinds[e.Kind]++
	}
	restored := slices.ContainsFunc(f.heartbeats, func(h qorgau.Heartbeat) bool { return h.Network == qorgau.NetworkRestored })
	leaves := f.leaves
	f.mu.Unlock()
	if kinds[qorgau.JournalBoot] != 1 || kinds[qorgau.JournalNetworkLost] < 1 || kinds[qorgau.JournalNetworkBack] < 1 || kinds[qorgau.JournalSubmitted] < 2*n {
		t.Errorf("journal kinds on the server = %v", kinds)
	}
	if !restored {
		t.Error("no heartbeat said the network was restored")
	}
	if st := a.Status(); st.LogSize < n || st.LogSize > leaves {
		t.Errorf("largest log seen = %d, want %d..%d", st.LogSize, n, leaves)
	}
}

// TestAgentAnswerLost: the server commits a submission but the answer is
// lost on the way; the resend must not make a second complaint.
func TestAgentAnswerLost(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, agentConfig(f, t.TempDir()))
	f.dropAnswers.Store(3)
	for i := range 3 {
		if _, err := a.Send(context.Background(), draft(fmt.Sprintf("жалоба %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the outbox to empty", func() bool { return a.Status().Outbox == 0 })
	complaints, submits := f.count()
	if complaints != 3 || submits < 6 {
		t.Errorf("%d complaints from %d submissions, want 3 from at least 6", complaints, submits)
	}
}

// TestAgentRestart: envelopes queued before a stop, and a temporary file a
// crash left, are handled by the next run, which needs no token.
func TestAgentRestart(t *testing.T) {
	f := newFakeServer(t)
	dir := t.TempDir()
	f.down.Store(true)
	// The first start needs the server: enrol while it is up.
	f.down.Store(false)
	a := startAgent(t, agentConfig(f, dir))
	f.down.Store(true)
	for i := range 5 {
		if _, err := a.Send(context.Background(), draft(fmt.Sprintf("до перезапуска %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	a.stop()
	os.WriteFile(filepath.Join(dir, "outbox", ".tmp-torn.env-123"), []byte("half"), 0o600)
	// A damaged item (a failing disk) first in line must not block the rest.
	os.WriteFile(filepath.Join(dir, "outbox", "00000000000000000000-damaged.env"), []byte(`{"id":"dam`), 0o600)
	if st, err := os.Stat(filepath.Join(dir, fileKey)); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("device key: %v %v, want mode 0600", st.Mode(), err)
	}

	// Offline, the second start works from what it kept.
	cfg := agentConfig(f, dir)
	cfg.Token = ""
	b := startAgent(t, cfg)
	if in, err := b.Info(context.Background()); err != nil || len(in.Bodies) != 3 || in.Name == "" || len(in.Zones) != 1 {
		t.Fatalf("Info offline = %+v, %v", in, err)
	}
	f.down.Store(false)
	waitFor(t, "the outbox to empty", func() bool { return b.Status().Outbox == 0 })
	if c, _ := f.count(); c != 5 {
		t.Errorf("the server holds %d complaints, want 5", c)
	}
	if f.tokenUse != 1 {
		t.Errorf("the token was presented %d times, want once", f.tokenUse)
	}
	if _, err := os.Stat(filepath.Join(dir, "outbox", "rejected", "00000000000000000000-damaged.env")); err != nil {
		t.Errorf("the damaged item was not set aside: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "outbox", ".tmp-torn.env-123")); !os.IsNotExist(err) {
		t.Errorf("the torn temporary file is still there: %v", err)
	}
	b.stop()
	j, err := OpenJournal(filepath.Join(dir, fileJournal), "x", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	all, _ := j.After(0, 1000)
	var seq []qorgau.JournalKind
	for _, e := range all {
		if e.Kind == qorgau.JournalBoot || e.Kind == qorgau.JournalShutdown {
			seq = append(seq, e.Kind)
		}
	}
	if !slices.Equal(seq, []qorgau.JournalKind{qorgau.JournalBoot, qorgau.JournalShutdown, qorgau.JournalBoot, qorgau.JournalShutdown}) {
		t.Errorf("boots and shutdowns in the journal = %v", seq)
	}
}

func TestAgentEnrolment(t *testing.T) {
	f := newFakeServer(t)
	cfg := agentConfig(f, t.TempDir())
	cfg.Token = ""
	if _, err := Open(context.Background(), cfg); qorgau.ErrorCode(err) != qorgau.EINVALID {
		t.Errorf("Open without enrolment or token = %v, want EINVALID", err)
	}
	cfg.Token = "wrong"
	if _, err := Open(context.Background(), cfg); err == nil {
		t.Error("Open with a wrong token succeeded")
	}
}

// TestAgentCheck follows a complaint from the receipt code to the reply,
// decrypted on the terminal, and the confirmation of reading it.
func TestAgentCheck(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, agentConfig(f, t.TempDir()))
	ctx := context.Background()
	s, err := a.Send(ctx, draft("Не дают свидание"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery", func() bool { return a.Status().Outbox == 0 })
	ans, err := a.Check(ctx, s.Code)
	if err != nil || len(ans) != 1 || ans[0].State != qorgau.StateDelivered || len(ans[0].Replies) != 0 {
		t.Fatalf("Check before a reply = %+v, %v", ans, err)
	}
	f.reply(ans[0].Complaint, "PROS-KZ-35", "Свидание назначено на пятницу.")
	ans, err = a.Check(ctx, strings.ReplaceAll(s.Code, " ", "-"))
	if err != nil || len(ans) != 1 || len(ans[0].Replies) != 1 || ans[0].Replies[0].Text != "Свидание назначено на пятницу." ||
		ans[0].State != qorgau.StateAnswered || ans[0].Read {
		t.Fatalf("Check after a reply = %+v, %v", ans, err)
	}
	if err := a.Read(ctx, s.Code, ans[0].Complaint); err != nil {
		t.Fatal(err)
	}
	if ans, _ = a.Check(ctx, s.Code); !ans[0].Read || ans[0].State != qorgau.StateAnswerDelivered {
		t.Errorf("after Read: %+v", ans[0])
	}
	if _, err := a.Check(ctx, seal.NewReceiptCode()); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
		t.Errorf("Check of an unknown code = %v, want ENOTFOUND", err)
	}
	if _, err := a.Check(ctx, "1234"); qorgau.ErrorCode(err) != qorgau.EINVALID {
		t.Errorf("Check of a short code = %v, want EINVALID", err)
	}
	// A complaint still in the outbox is reported as waiting.
	f.down.Store(true)
	s2, err := a.Send(ctx, draft("Холодно в камере"))
	if err != nil {
		t.Fatal(err)
	}
	if ans, err := a.Check(ctx, s2.Code); err != nil || len(ans) != 1 || !ans[0].Queued {
		t.Errorf("Check of a queued complaint = %+v, %v", ans, err)
	}
	if _, err := a.Check(ctx, s.Code); err == nil || !strings.Contains(err.Error(), ErrOffline.Error()) {
		t.Errorf("Check offline = %v, want ErrOffline", err)
	}
}

// TestAgentUrgent: a torture complaint goes also to the bodies the rules
// add, and the document carries where and when.
func TestAgentUrgent(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, agentConfig(f, t.TempDir()))
	ctx := context.Background()
	in, err := a.Info(ctx)
	if err != nil || !slices.Equal(in.Extra.TortureBodies, []string{"NPM", "OMBUDSMAN", "PROS-KZ-35"}) {
		t.Fatalf("Info = %+v, %v", in, err)
	}
	d := draft("Избили в коридоре")
	d.Category, d.When, d.PartOfDay = qorgau.CategoryTorture, "yesterday", "night"
	if _, err := a.Send(ctx, d); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery", func() bool { return a.Status().Outbox == 0 })
	doc := f.open(0, "NPM")
	if !slices.Equal(f.complaints[0].sub.Bodies, []string{"NPM", "OMBUDSMAN", "PROS-KZ-35"}) || len(doc.Bodies) != 3 {
		t.Errorf("bodies = %v, document bodies %v", f.complaints[0].sub.Bodies, doc.Bodies)
	}
	if h := doc.IncidentTo.Sub(doc.IncidentFrom); h != 6*time.Hour || doc.IncidentFrom.After(time.Now().Add(-18*time.Hour)) {
		t.Errorf("incident window %v – %v, want last night's six hours", doc.IncidentFrom, doc.IncidentTo)
	}
	if _, err := a.Send(ctx, &Draft{Lang: "ru", Bodies: []string{"NOBODY"}, Category: qorgau.CategoryMedical, Text: "x"}); qorgau.ErrorCode(err) != qorgau.EINVALID {
		t.Errorf("Send to an unknown body = %v, want EINVALID", err)
	}
	if _, err := a.Send(ctx, &Draft{Lang: "ru", Bodies: []string{"NPM"}, Category: qorgau.CategoryMedical}); qorgau.ErrorCode(err) != qorgau.EINVALID {
		t.Errorf("Send without text or voice = %v, want EINVALID", err)
	}
}

// TestAgentBadReceipt: a receipt that does not prove the complaint's
// inclusion leaves the envelope in the outbox.
func TestAgentBadReceipt(t *testing.T) {
	f := newFakeServer(t)
	f.badReceipt.Store(true)
	a := startAgent(t, agentConfig(f, t.TempDir()))
	if _, err := a.Send(context.Background(), draft("Письма не отправляют")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two attempts", func() bool { _, s := f.count(); return s >= 2 })
	if a.Status().Outbox != 1 {
		t.Fatalf("outbox = %d after a bad receipt, want 1", a.Status().Outbox)
	}
	f.badReceipt.Store(false)
	waitFor(t, "delivery with a good receipt", func() bool { return a.Status().Outbox == 0 })
	if c, _ := f.count(); c != 1 {
		t.Errorf("%d complaints, want 1", c)
	}
}

// TestAgentTamperAndUsage: the case switch reaches the journal and the
// heartbeats; the usage counters reach the server and hold only counts.
func TestAgentTamperAndUsage(t *testing.T) {
	f := newFakeServer(t)
	dir := t.TempDir()
	cfg := agentConfig(f, dir)
	cfg.TamperFile = filepath.Join(t.TempDir(), "tamper")
	a := startAgent(t, cfg)
	waitFor(t, "online", a.Online)
	os.WriteFile(cfg.TamperFile, []byte("open\n"), 0o644)
	waitFor(t, "a heartbeat with the case open", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.heartbeats) > 0 && f.heartbeats[len(f.heartbeats)-1].Tamper
	})
	os.Remove(cfg.TamperFile)
	waitFor(t, "the journal to say the case closed", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return slices.ContainsFunc(f.journal, func(e qorgau.JournalEntry) bool { return e.Kind == qorgau.JournalTamperShut })
	})
	for range 3 {
		a.Step("start")
	}
	a.Step("text")
	a.Abandon("text")
	a.Step("no-such-step")
	today := time.Now().Format(time.DateOnly)
	waitFor(t, "the usage report", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		u := f.usage[today]
		return u.Reached["start"] == 3 && u.Reached["text"] == 1 && u.Abandoned["text"] == 1
	})
	a.stop()
	b, err := os.ReadFile(filepath.Join(dir, fileUsage))
	if err != nil || !bytes.Contains(b, []byte(`"start":3`)) {
		t.Errorf("usage file = %s, %v", b, err)
	}
}

// TestAgentOlderServer: a server without the fleet endpoints still counts
// as reachable, and complaints flow.
func TestAgentOlderServer(t *testing.T) {
	f := newFakeServer(t)
	f.noFleet = true
	a := startAgent(t, agentConfig(f, t.TempDir()))
	if _, err := a.Send(context.Background(), draft("Нет горячей воды")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery", func() bool { return a.Status().Outbox == 0 })
	if !a.Online() {
		t.Error("a server answering 404 to heartbeats counts as offline")
	}
}

func TestAgentPrinter(t *testing.T) {
	f := newFakeServer(t)
	cfg := agentConfig(f, t.TempDir())
	cfg.Printer = filepath.Join(t.TempDir(), "lp0")
	os.WriteFile(cfg.Printer, nil, 0o600)
	a := startAgent(t, cfg)
	s, err := a.Send(context.Background(), draft("Печать"))
	if err != nil || !s.Printed {
		t.Fatalf("Send = %+v, %v; want printed", s, err)
	}
	b, _ := os.ReadFile(cfg.Printer)
	if !bytes.Equal(b, ReceiptTicket(s.Code)) {
		t.Errorf("printer got %q", b)
	}
}

// TestAgentSeesPublishedLog: a terminal that files nothing still learns
// the log's size from the signed checkpoint, and only from one signed
// with the pinned key.
func TestAgentSeesPublishedLog(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, agentConfig(f, t.TempDir()))
	f.mu.Lock()
	for i := range 5 {
		f.appendLeaf([]byte(fmt.Sprintf("another terminal's complaint %d", i)))
	}
	f.mu.Unlock()
	waitFor(t, "the log size from the checkpoint", func() bool { return a.Status().LogSize == 5 })
	waitFor(t, "a heartbeat carrying it", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.heartbeats) > 0 && f.heartbeats[len(f.heartbeats)-1].LogSize == 5
	})
	// A checkpoint signed with another key is not believed.
	skey, _, _ := tlog.GenerateKey("fake.test/log")
	f.mu.Lock()
	f.signer, _, _ = tlog.NewSigner(skey)
	f.hashes, f.leaves = nil, 0
	for i := range 9 {
		f.appendLeaf([]byte(fmt.Sprint(i)))
	}
	f.mu.Unlock()
	time.Sleep(300 * time.Millisecond) // a few refreshes
	if got := a.Status().LogSize; got != 5 {
		t.Errorf("log size after a forged checkpoint = %d, want 5", got)
	}
}

// TestAgentVoice: a spoken complaint without text is sealed whole, and the
// recording is wiped from the draft once queued.
func TestAgentVoice(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, agentConfig(f, t.TempDir()))
	rec := bytes.Repeat([]byte("OggS-voice-"), 1000)
	d := &Draft{Lang: "kk", Bodies: []string{"OMBUDSMAN"}, Category: qorgau.CategoryContact,
		Voice: &seal.Voice{Type: "audio/ogg; codecs=opus", Data: bytes.Clone(rec)}}
	if _, err := a.Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsAny(d.Voice.Data, "Ov") {
		t.Error("the draft still holds the recording after Send")
	}
	waitFor(t, "delivery", func() bool { return a.Status().Outbox == 0 })
	if doc := f.open(0, "OMBUDSMAN"); doc.Voice == nil || !bytes.Equal(doc.Voice.Data, rec) || doc.Text != "" {
		t.Errorf("the body got voice %v, text %q", doc.Voice != nil, doc.Text)
	}
}

// TestAgentTestCode refuses a test complaint whose code the server refuses
// when it is sent, queueing nothing; and a test envelope whose code the
// server refuses at delivery (it expired in the outbox) is set aside
// instead of holding up the complaints behind it.
func TestAgentTestCode(t *testing.T) {
	f := newFakeServer(t)
	const good = "1111 2222 3333 4444"
	f.testCodes = map[string]bool{good: true}
	a := startAgent(t, agentConfig(f, t.TempDir()))
	waitFor(t, "the first heartbeat", func() bool { return a.Online() })

	for _, code := range []string{"1234 5678 9012 3456", "T7K2"} {
		if err := a.CheckTestCode(context.Background(), code); !errors.Is(err, ErrTestCode) {
			t.Errorf("CheckTestCode(%q) = %v, want ErrTestCode", code, err)
		}
		d := draft("Проверка НПМ.")
		d.TestCode = code
		if s, err := a.Send(context.Background(), d); !errors.Is(err, ErrTestCode) {
			t.Errorf("Send with test code %q = %+v, %v; want ErrTestCode", code, s, err)
		}
	}
	if got := a.Status().Outbox; got != 0 {
		t.Errorf("outbox = %d after refused test codes, want 0", got)
	}
	if err := a.CheckTestCode(context.Background(), good); err != nil {
		t.Errorf("CheckTestCode(good) = %v", err)
	}

	// Offline, the code cannot be asked about: the test is queued, and the
	// code, used meanwhile, is refused at delivery.
	f.down.Store(true)
	waitFor(t, "the agent to notice the loss", func() bool { return !a.Online() })
	d := draft("Проверка НПМ.")
	d.TestCode = good
	if s, err := a.Send(context.Background(), d); err != nil || !s.Queued {
		t.Fatalf("Send offline with a test code = %+v, %v; want queued", s, err)
	}
	if _, err := a.Send(context.Background(), draft("Настоящая жалоба после теста.")); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.testCodes = nil
	f.mu.Unlock()
	f.down.Store(false)
	waitFor(t, "the outbox to empty", func() bool { return a.Status().Outbox == 0 })
	if n, _ := f.count(); n != 1 {
		t.Fatalf("the server holds %d complaints, want the real one", n)
	}
	if doc := f.open(0, "PROS-KZ-35"); doc.Text != "Настоящая жалоба после теста." || doc.Test {
		t.Errorf("delivered %q (test %v), want the real complaint", doc.Text, doc.Test)
	}
}

// TestAgentJournalRotates runs an agent whose journal has a small cap:
// the entries the server acknowledged leave the disk, and the server
// still receives one unbroken chain.
func TestAgentJournalRotates(t *testing.T) {
	f := newFakeServer(t)
	dir := t.TempDir()
	cfg := agentConfig(f, dir)
	cfg.JournalCap = 2 << 10
	a := startAgent(t, cfg)
	waitFor(t, "the first heartbeat", func() bool { return a.Online() })
	sendComplaints(t, a, 20)
	waitFor(t, "the outbox to empty", func() bool { return a.Status().Outbox == 0 })
	path := filepath.Join(dir, fileJournal)
	waitFor(t, "the server to hold the journal and the file to shrink", func() bool {
		f.mu.Lock()
		held := int64(len(f.journal))
		f.mu.Unlock()
		st, err := os.Stat(path)
		return err == nil && held == a.Status().Journal && st.Size() < cfg.JournalCap
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := qorgau.CheckJournal(0, qorgau.JournalGenesis, f.journal); err != nil {
		t.Errorf("the server's copy of the journal: %v", err)
	}
	if len(f.journal) < 40 {
		t.Errorf("the server holds %d entries, want at least 40 (queued and delivered for each complaint)", len(f.journal))
	}
	a.journal.mu.Lock()
	anchored := a.journal.anchor.Seq
	a.journal.mu.Unlock()
	if anchored == 0 {
		t.Error("the journal was never rotated")
	}
}

// TestAgentJournalAfterRestore: the server loses journal entries it had
// acknowledged, which the agent has dropped from its file (a restore of
// the server from an older backup). The agent sends what it kept, chained
// to the last entry it dropped, instead of failing at every heartbeat; the
// server learns exactly which entries are missing.
func TestAgentJournalAfterRestore(t *testing.T) {
	f := newFakeServer(t)
	cfg := agentConfig(f, t.TempDir())
	cfg.JournalCap = 2 << 10
	a := startAgent(t, cfg)
	waitFor(t, "the first heartbeat", func() bool { return a.Online() })
	sendComplaints(t, a, 20)
	waitFor(t, "the journal to be held and rotated", func() bool {
		f.mu.Lock()
		held, _ := f.journalHead()
		f.mu.Unlock()
		return held == a.Status().Journal && a.journal.Anchor().Seq > 5
	})
	f.mu.Lock()
	f.journal = f.journal[:5] // the restore
	f.mu.Unlock()
	anchor := a.journal.Anchor()
	if _, err := a.Send(context.Background(), draft("После восстановления")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the server to hold the journal again", func() bool {
		f.mu.Lock()
		held, _ := f.journalHead()
		f.mu.Unlock()
		return a.Status().Outbox == 0 && held == a.Status().Journal
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	// The agent may drop a few more entries between the restore and the
	// upload (a heartbeat that was under way acknowledged them).
	if len(f.journalGaps) != 1 || f.journalGaps[0].from != 6 || f.journalGaps[0].after.Seq < anchor.Seq {
		t.Fatalf("gaps the server was told of = %+v, want one from entry 6 to %d or later", f.journalGaps, anchor.Seq)
	}
	after := f.journalGaps[0].after
	if err := qorgau.CheckJournal(after.Seq, after.Hash, f.journal[5:]); err != nil {
		t.Errorf("the journal after the gap: %v", err)
	}
}

// sendComplaints queues n complaints at the agent.
func sendComplaints(t *testing.T, a *runningAgent, n int) {
	t.Helper()
	for i := range n {
		if _, err := a.Send(context.Background(), draft(fmt.Sprintf("Жалоба %d", i))); err != nil {
			t.Fatal(err)
		}
	}
}
