package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/kiosk"
	"qorgau.kz/qorgau/internal/seal"
	"qorgau.kz/qorgau/internal/store"
)

// cutProxy stands between a terminal and the server: the network a test
// can cut. While cut it drops every connection without an answer. It
// records the heartbeats and journal uploads that pass, and, for a server
// that does not take them yet (404 or 405), answers them itself, checking the
// journal chain as the server would.
type cutProxy struct {
	t    *testing.T
	ts   *httptest.Server
	up   *url.URL
	rp   *httputil.ReverseProxy
	cut  atomic.Bool
	mu   sync.Mutex
	hbs  []qorgau.Heartbeat
	jour []qorgau.JournalEntry // uploads the server (or the stand-in) took
	// standIn counts the fleet requests answered here because the server
	// answered 404.
	standIn int
	// beats counts the heartbeats sent under a heartbeat session.
	beats int
}

func newCutProxy(t *testing.T, upstream string) *cutProxy {
	u, _ := url.Parse(upstream)
	p := &cutProxy{t: t, up: u, rp: httputil.NewSingleHostReverseProxy(u)}
	p.ts = httptest.NewServer(p)
	t.Cleanup(p.ts.Close)
	return p
}

func (p *cutProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.cut.Load() {
		if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
			c.Close()
		}
		return
	}
	if r.URL.Path != "/api/terminal/v1/heartbeat" && r.URL.Path != "/api/terminal/v1/heartbeat/beat" && r.URL.Path != "/api/terminal/v1/journal" {
		p.rp.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	out, _ := http.NewRequestWithContext(r.Context(), r.Method, p.up.String()+r.URL.RequestURI(), bytes.NewReader(body))
	out.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	p.mu.Lock()
	defer p.mu.Unlock()
	status := resp.StatusCode
	if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
		// The fleet handlers are not in this server: stand in for them.
		p.standIn++
		status, answer = http.StatusOK, nil
	}
	switch r.URL.Path {
	case "/api/terminal/v1/heartbeat", "/api/terminal/v1/heartbeat/beat":
		if r.URL.Path == "/api/terminal/v1/heartbeat/beat" && status == http.StatusOK {
			p.beats++
		}
		var hb qorgau.Heartbeat
		json.Unmarshal(body, &hb)
		p.hbs = append(p.hbs, hb)
		if answer == nil {
			answer, _ = json.Marshal(qorgau.HeartbeatReply{ServerTime: time.Now().Unix(), JournalSeq: int64(len(p.jour))})
		}
	case "/api/terminal/v1/journal":
		var req struct{ Entries []qorgau.JournalEntry }
		json.Unmarshal(body, &req)
		seq, prev := int64(0), qorgau.JournalGenesis
		if n := len(p.jour); n > 0 {
			seq, prev = p.jour[n-1].Seq, p.jour[n-1].Hash
		}
		if err := qorgau.CheckJournal(seq, prev, req.Entries); err != nil {
			p.t.Errorf("the terminal uploaded a journal that does not chain: %v", err)
			status, answer = http.StatusBadRequest, []byte(`{"error":"invalid","message":"chain"}`)
		} else if status == http.StatusOK {
			p.jour = append(p.jour, req.Entries...)
			if answer == nil {
				answer, _ = json.Marshal(map[string]int64{"journal_seq": int64(len(p.jour))})
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if mac := resp.Header.Get(qorgau.HeaderMAC); mac != "" {
		w.Header().Set(qorgau.HeaderMAC, mac) // a heartbeat session's answer
	}
	w.WriteHeader(status)
	w.Write(answer)
}

// TestTerminalCutOff runs the agent against a real server through a
// network that is cut while 100 complaints are queued, with a short
// heartbeat interval standing in for a day. After the network returns,
// every complaint must be in the server exactly once, with receipts the
// agent verified, and the journal of the loss and return uploaded.
func TestTerminalCutOff(t *testing.T) {
	// The agent seals each complaint with a new receipt code; the reply key
	// derivation (64 MiB, ~0.2 s) would make 100 of them the slow part.
	// The code path is the same with cheaper parameters; the server never
	// derives, it only stores lookup ids.
	params := seal.ReplyParams
	seal.ReplyParams = seal.KDFParams{Memory: 256, Time: 1, Threads: 1}
	t.Cleanup(func() { seal.ReplyParams = params })

	const n = 100
	w := newWorld(t, 1)
	// A heartbeat a second, so that a few seconds cut off are an outage
	// (silence longer than twice the interval) and the test stays short.
	if db, err := sql.Open("sqlite", filepath.Join(w.dir, "qorgau.db")); err != nil {
		t.Fatal(err)
	} else if _, err := db.Exec(`UPDATE devices SET interval_seconds = 1 WHERE id = 'T-1'`); err != nil {
		t.Fatal(err)
	} else {
		db.Close()
	}
	srv := startServe(t, w.dir)
	px := newCutProxy(t, srv.base())
	ctx := context.Background()
	a, err := kiosk.Open(ctx, kiosk.Config{Server: px.ts.URL, DataDir: t.TempDir(), Token: w.tokens["T-1"],
		HTTP: &http.Client{Timeout: 10 * time.Second}, Heartbeat: 100 * time.Millisecond,
		RetryMin: 50 * time.Millisecond, RetryMax: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	defer func() { stop(); <-done }()
	waitUntil(t, "the agent online", 10*time.Second, a.Online)

	start := time.Now()
	px.cut.Store(true)
	waitUntil(t, "the agent to notice the cut", 10*time.Second, func() bool { return !a.Online() })
	codes := map[string]bool{}
	for i := range n {
		cat, bodies := qorgau.CategoryMedical, []string{"PROS-KZ-35"}
		if i%10 == 0 {
			cat = qorgau.CategoryTorture // the agent adds the NPM and the ombudsman
		}
		s, err := a.Send(ctx, &kiosk.Draft{Lang: "kk", Bodies: bodies, Category: cat, Zone: "B1", When: "today",
			Text: fmt.Sprintf("Маған дәрі бермеді, №%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if !s.Queued || codes[s.Code] {
			t.Fatalf("Send %d while cut off = %+v", i, s)
		}
		codes[s.Code] = true
	}
	if got := a.Status().Outbox; got != n {
		t.Fatalf("outbox = %d while cut off, want %d", got, n)
	}
	// Failed heartbeats and retries; long enough for the fleet watch to
	// open an outage.
	time.Sleep(max(time.Second, 4*time.Second-time.Since(start)))
	px.cut.Store(false)
	restored := time.Now()
	waitUntil(t, "the outbox to empty", 30*time.Second, func() bool { return a.Status().Outbox == 0 })
	t.Logf("%d complaints queued offline, delivered %.1f s after the network returned (cut for %.1f s)",
		n, time.Since(restored).Seconds(), restored.Sub(start).Seconds())

	db, err := sql.Open("sqlite", filepath.Join(w.dir, "qorgau.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows, lookups, urgent int
	waitUntil(t, "the deliveries to the inboxes", 10*time.Second, func() bool {
		db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT lookup_id), COALESCE(SUM(CASE WHEN urgent THEN 1 ELSE 0 END), 0) FROM complaints WHERE device = 'T-1'`).Scan(&rows, &lookups, &urgent)
		return rows >= n
	})
	if rows != n || lookups != n || urgent != n/10 {
		t.Errorf("the server holds %d complaints under %d lookup ids, %d urgent; want %d, %d, %d", rows, lookups, urgent, n, n, n/10)
	}
	var copies int
	db.QueryRow(`SELECT COUNT(*) FROM complaint_bodies WHERE body = 'NPM'`).Scan(&copies)
	if copies != n/10 {
		t.Errorf("the NPM has %d copies, want the %d torture complaints", copies, n/10)
	}
	if st := a.Status(); st.LogSize < n || st.Delivered != n {
		t.Errorf("status after delivery = %+v, want %d delivered and a log of at least %d", st, n, n)
	}

	// The journal, with the loss and the return, was uploaded.
	waitUntil(t, "the journal upload", 10*time.Second, func() bool {
		px.mu.Lock()
		defer px.mu.Unlock()
		submitted := 0
		for _, e := range px.jour {
			if e.Kind == qorgau.JournalSubmitted {
				submitted++
			}
		}
		return submitted >= 2*n // each queued, then delivered
	})
	px.mu.Lock()
	kinds := map[qorgau.JournalKind]int{}
	for _, e := range px.jour {
		kinds[e.Kind]++
	}
	var restoredBeat bool
	for _, hb := range px.hbs {
		restoredBeat = restoredBeat || hb.Network == qorgau.NetworkRestored
	}
	standIn, beats, signedBeats := px.standIn, px.beats, len(px.hbs)-px.beats
	px.mu.Unlock()
	if beats == 0 || signedBeats > 0 {
		t.Errorf("%d heartbeats under a session, %d signed; want them all under a session", beats, signedBeats)
	}
	if kinds[qorgau.JournalNetworkLost] < 1 || kinds[qorgau.JournalNetworkBack] < 1 || kinds[qorgau.JournalSubmitted] < 2*n || kinds[qorgau.JournalHeartbeat] < 1 {
		t.Errorf("journal uploaded: %v", kinds)
	}
	if !restoredBeat {
		t.Error("no heartbeat reported the network restored")
	}
	if standIn > 0 {
		t.Errorf("the proxy stood in for the server's fleet endpoints %d times", standIn)
	}

	// The fleet watch recorded the cut as one outage of the terminal, from
	// about when the line was cut to about when it returned, caused by the
	// network: the journal shows the terminal running all along.
	st, err := store.Open(ctx, filepath.Join(w.dir, "qorgau.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var outs []qorgau.Outage
	waitUntil(t, "the outage's cause from the journal", 10*time.Second, func() bool {
		outs, err = st.Outages(ctx, qorgau.OutageFilter{Device: "T-1"})
		return err == nil && len(outs) == 1 && !outs[0].Open() && outs[0].Cause == qorgau.CauseNetwork
	})
	o := outs[0]
	const slack = 1500 * time.Millisecond // the last beat before the cut, the first after
	if o.Start.Before(start.Add(-slack)) || o.Start.After(start.Add(slack)) || o.End.Before(restored.Add(-slack)) || o.End.After(restored.Add(slack)) {
		t.Errorf("outage %v – %v, want about %v – %v", o.Start, o.End, start, restored)
	}
	t.Logf("outage recorded %v – %v, cause %s (%s)", o.Start.Format("15:04:05.000"), o.End.Format("15:04:05.000"), o.Cause, o.Detail)
}

func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// terminalProc is a `qorgau terminal` process a test can kill and restart.
type terminalProc struct {
	t    *testing.T
	args []string
	addr string
	cmd  *exec.Cmd
	logs *bytes.Buffer
	done chan struct{}
}

func (p *terminalProc) start() {
	p.t.Helper()
	p.logs = &bytes.Buffer{}
	p.cmd = exec.Command(bin, append(p.args, "--listen", p.addr)...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	done := make(chan struct{})
	p.done = done
	go func() { p.cmd.Wait(); close(done) }()
	waitUntil(p.t, "the terminal to listen", 30*time.Second, func() bool {
		select {
		case <-done:
			p.t.Fatalf("qorgau terminal exited:\n%s", p.logs)
		default:
		}
		resp, err := http.Get("http://" + p.addr + "/agent/v1/status")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

func (p *terminalProc) signal(s syscall.Signal) {
	p.cmd.Process.Signal(s)
	<-p.done
}

func (p *terminalProc) status() kiosk.Status {
	var st kiosk.Status
	resp, err := http.Get("http://" + p.addr + "/agent/v1/status")
	if err != nil {
		return kiosk.Status{Outbox: -1}
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(&st)
	return st
}

// TestTerminalKilled kills `qorgau terminal` with SIGKILL again and again
// while complaints are being sent through it. Every complaint whose code
// was handed out must reach the server exactly once; a complaint cut off
// by a kill may arrive (its envelope was queued) but never twice.
func TestTerminalKilled(t *testing.T) {
	w := newWorld(t, 1)
	srv := startServe(t, w.dir)
	px := newCutProxy(t, srv.base())
	data := t.TempDir()
	p := &terminalProc{t: t, addr: freeAddr(t), args: []string{"terminal", "--server", px.ts.URL, "--data", data,
		"--enroll", w.tokens["T-1"], "--agent-api", "--heartbeat", "200ms", "--retry-max", "500ms"}}
	p.start()
	t.Cleanup(func() { p.signal(syscall.SIGKILL) })

	var (
		mu       sync.Mutex
		codes    []string
		attempts int
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body, _ := json.Marshal(kiosk.Draft{Lang: "ru", Bodies: []string{"PROS-KZ-35"}, Category: qorgau.CategoryConditions,
					Text: fmt.Sprintf("В камере холодно, %d-%d", g, i)})
				mu.Lock()
				attempts++
				addr := p.addr
				mu.Unlock()
				resp, err := http.Post("http://"+addr+"/agent/v1/send", "application/json", bytes.NewReader(body))
				if err != nil {
					time.Sleep(50 * time.Millisecond) // killed: wait for the restart
					continue
				}
				var s kiosk.Sent
				err = json.NewDecoder(resp.Body).Decode(&s)
				resp.Body.Close()
				if resp.StatusCode == 200 && err == nil && s.Code != "" {
					mu.Lock()
					codes = append(codes, s.Code)
					mu.Unlock()
				} else {
					t.Logf("send: %d %v", resp.StatusCode, err)
				}
			}
		})
	}
	rng := rand.New(rand.NewPCG(5, 7))
	const kills = 4
	for k := range kills {
		// The first kills come with the network cut, so that they hit a
		// full outbox; the later ones while it drains and fills.
		px.cut.Store(k < 2)
		mu.Lock()
		before := len(codes)
		mu.Unlock()
		// Each run hands out at least one code before it is killed, so
		// that every kill hits a terminal at work.
		waitUntil(t, "a complaint sent through this run", 30*time.Second, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(codes) > before
		})
		if k < 2 && p.status().Outbox < 1 {
			t.Errorf("kill %d: the outbox is empty while the network is cut", k+1)
		}
		time.Sleep(time.Duration(rng.IntN(600)) * time.Millisecond)
		p.signal(syscall.SIGKILL)
		time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
		// The token was spent by the first start; later starts must not
		// need it (it is still passed, as a service unit would).
		p.start()
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	waitUntil(t, "the outbox to empty", 30*time.Second, func() bool { return p.status().Outbox == 0 })

	// Count the server's complaints per receipt code's lookup id.
	eb, err := os.ReadFile(filepath.Join(data, "enrolment.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e kiosk.Enrollment
	json.Unmarshal(eb, &e)
	salt, _ := base64.StdEncoding.DecodeString(e.ReplySalt)
	db, err := sql.Open("sqlite", filepath.Join(w.dir, "qorgau.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The log is written before the inboxes: every complaint it accepted
	// (one cut off by a kill included) must have been delivered before
	// the count means anything.
	var total, logged int
	waitUntil(t, "the deliveries to the inboxes", 10*time.Second, func() bool {
		db.QueryRow(`SELECT COUNT(*) FROM log_leaves WHERE kind = 'complaint'`).Scan(&logged)
		db.QueryRow(`SELECT COUNT(*) FROM complaints WHERE device = 'T-1'`).Scan(&total)
		return total == logged && total >= len(codes)
	})
	for _, c := range codes {
		k, err := seal.DeriveReply(c, salt)
		if err != nil {
			t.Fatal(err)
		}
		var got int
		db.QueryRow(`SELECT COUNT(*) FROM complaints WHERE lookup_id = $1`, k.LookupID).Scan(&got)
		if got != 1 {
			t.Errorf("code %s: %d complaints on the server, want exactly 1", c, got)
		}
	}
	var distinct int
	db.QueryRow(`SELECT COUNT(DISTINCT lookup_id) FROM complaints WHERE device = 'T-1'`).Scan(&distinct)
	if distinct != total {
		t.Errorf("%d complaints under %d lookup ids: one was doubled", total, distinct)
	}
	if cut := total - len(codes); cut < 0 || cut > attempts-len(codes) {
		t.Errorf("%d complaints for %d codes handed out in %d attempts", total, len(codes), attempts)
	}
	t.Logf("%d kills; %d attempts, %d codes handed out, %d complaints on the server (%d cut off by a kill before the code was shown, delivered anyway)",
		kills, attempts, len(codes), total, total-len(codes))
	if len(codes) < kills {
		t.Errorf("only %d complaints were sent: the test exercised too little", len(codes))
	}

	// A page that rebinds its name to loopback gets nothing.
	req, _ := http.NewRequest("GET", "http://"+p.addr+"/agent/v1/status", nil)
	req.Host = "attacker.example"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("a request for another host name = %v, %v; want 421", resp, err)
	} else {
		resp.Body.Close()
	}

	// SIGTERM: a clean stop, journalled.
	p.signal(syscall.SIGTERM)
	if !strings.Contains(p.logs.String(), "terminal stopped") {
		t.Errorf("no clean stop after SIGTERM:\n%s", p.logs)
	}
	jb, _ := os.ReadFile(filepath.Join(data, "journal.jsonl"))
	lines := strings.Split(strings.TrimSpace(string(jb)), "\n")
	var last qorgau.JournalEntry
	json.Unmarshal([]byte(lines[len(lines)-1]), &last)
	if last.Kind != qorgau.JournalShutdown {
		t.Errorf("the journal ends with %q, want shutdown", last.Kind)
	}
	var boots int
	for _, l := range lines {
		if strings.Contains(l, `"kind":"boot"`) {
			boots++
		}
	}
	if boots != kills+1 {
		t.Errorf("%d boots in the journal, want %d", boots, kills+1)
	}
}

// TestTerminalFlags checks the command line: a non-loopback address is
// refused without --allow-remote, and --server is required.
func TestTerminalFlags(t *testing.T) {
	_, stderr, code := runQ(t, nil, "terminal", "--server", "http://127.0.0.1:1", "--listen", "0.0.0.0:7070")
	if code != 2 || !strings.Contains(stderr, "not a loopback address") {
		t.Errorf("non-loopback --listen: exit %d, %s", code, stderr)
	}
	_, stderr, code = runQ(t, nil, "terminal")
	if code != 2 || !strings.Contains(stderr, "--server is required") {
		t.Errorf("no --server: exit %d, %s", code, stderr)
	}
	_, stderr, code = runQ(t, []string{"QORGAU_LISTEN=192.0.2.1:80"}, "terminal", "--server", "http://127.0.0.1:1")
	if code != 2 || !strings.Contains(stderr, "192.0.2.1:80") {
		t.Errorf("QORGAU_LISTEN: exit %d, %s", code, stderr)
	}
	stdout, stderr, code := runQ(t, nil, "terminal", "-h")
	if code != 0 || !strings.Contains(stdout+stderr, "--tamper-file") && !strings.Contains(stdout+stderr, "-tamper-file") {
		t.Errorf("terminal -h: exit %d, %s%s", code, stdout, stderr)
	}
	// Not enrolled, no token: a clear refusal.
	_, stderr, code = runQ(t, nil, "terminal", "--server", "http://127.0.0.1:1", "--data", t.TempDir())
	if code != 1 || !strings.Contains(stderr, "--enroll") {
		t.Errorf("no enrolment: exit %d, %s", code, stderr)
	}
}
