package notify_test

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/notify"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/store/storetest"
)

// fakeSMTP is an SMTP server that speaks enough of the protocol to take
// messages: EHLO, optional STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, QUIT.
// It can refuse recipients with a temporary error a number of times.
type fakeSMTP struct {
	t  *testing.T
	ln net.Listener
	// tls, if set, is offered as STARTTLS.
	tls *tls.Config

	mu       sync.Mutex
	messages []smtpMessage
	auth     []string // decoded AUTH PLAIN credentials
	refuse   int      // RCPT answers 451 this many more times
	reject   string   // RCPT of this address answers 550
}

type smtpMessage struct {
	from string
	to   []string
	data string
	tls  bool
}

func newFakeSMTP(t *testing.T, tlsCfg *tls.Config) *fakeSMTP {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSMTP{t: t, ln: ln, tls: tlsCfg}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(c)
		}
	}()
	return f
}

func (f *fakeSMTP) addr() string { return f.ln.Addr().String() }

func (f *fakeSMTP) serve(conn net.Conn) {
	defer conn.Close()
	r, w := bufio.NewReader(conn), bufio.NewWriter(conn)
	reply := func(s string) { w.WriteString(s + "\r\n"); w.Flush() }
	reply("220 fake.example ESMTP")
	var msg smtpMessage
	secure := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			if f.tls != nil && !secure {
				reply("250-fake.example\r\n250-8BITMIME\r\n250-STARTTLS\r\n250 AUTH PLAIN")
			} else {
				reply("250-fake.example\r\n250-8BITMIME\r\n250 AUTH PLAIN")
			}
		case "STARTTLS":
			reply("220 go ahead")
			tc := tls.Server(conn, f.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn, secure = tc, true
			r, w = bufio.NewReader(tc), bufio.NewWriter(tc)
			msg = smtpMessage{}
		case "AUTH":
			_, cred, _ := strings.Cut(arg, " ")
			b, _ := base64.StdEncoding.DecodeString(cred)
			f.mu.Lock()
			f.auth = append(f.auth, string(b))
			f.mu.Unlock()
			reply("235 ok")
		case "MAIL":
			msg = smtpMessage{from: strings.Trim(strings.TrimPrefix(arg, "FROM:"), "<>"), tls: secure}
			if i := strings.Index(msg.from, ">"); i >= 0 {
				msg.from = msg.from[:i]
			}
			reply("250 ok")
		case "RCPT":
			to := strings.Trim(strings.TrimPrefix(arg, "TO:"), "<>")
			f.mu.Lock()
			reject := to == f.reject
			refuse := !reject && f.refuse > 0
			if refuse {
				f.refuse--
			}
			f.mu.Unlock()
			switch {
			case reject:
				reply("550 no such user")
			case refuse:
				reply("451 try again later")
			default:
				msg.to = append(msg.to, to)
				reply("250 ok")
			}
		case "DATA":
			reply("354 end with .")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			msg.data = data.String()
			f.mu.Lock()
			f.messages = append(f.messages, msg)
			f.mu.Unlock()
			reply("250 queued")
		case "RSET", "NOOP":
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 not implemented")
		}
	}
}

func (f *fakeSMTP) received() []smtpMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.messages)
}

// hookReceiver is a webhook endpoint that checks signatures with the
// body's secret, as a receiver would, and keeps what it accepted.
type hookReceiver struct {
	secret string
	mu     sync.Mutex
	got    []notify.WebhookPayload
	bad    int
	status int // answer with this status instead of 204, if set
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts := r.Header.Get("X-Qorgau-Timestamp")
	mac := hmac.New(sha256.New, []byte(h.secret))
	mac.Write([]byte(ts + "." + string(body)))
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
		!hmac.Equal([]byte(r.Header.Get("X-Qorgau-Signature")), []byte(want)) || ts == "" {
		h.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if h.status != 0 {
		w.WriteHeader(h.status)
		return
	}
	var p notify.WebhookPayload
	if err := json.Unmarshal(body, &p); err != nil {
		h.bad++
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	h.got = append(h.got, p)
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) payloads() []notify.WebhookPayload {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got)
}

// seed makes two bodies, members with addresses, and a webhook for P.
func seed(t *testing.T, db *store.DB, hookURL, secret string) {
	t.Helper()
	ctx := context.Background()
	if err := db.SaveBodies(ctx, []qorgau.Body{
		{Code: "P", Kind: qorgau.BodyProsecutor, NameKK: "p", NameRU: "p", NameEN: "p"},
		{Code: "N", Kind: qorgau.BodyNPM, NameKK: "n", NameRU: "n", NameEN: "n"},
	}, nil); err != nil {
		t.Fatal(err)
	}
	for _, u := range []qorgau.User{
		{Name: "p1", Role: qorgau.RoleMember, Body: "P"},
		{Name: "p2", Role: qorgau.RoleMember, Body: "P"},
		{Name: "n1", Role: qorgau.RoleMember, Body: "N"},
		{Name: "admin", Role: qorgau.RoleAdmin},
	} {
		u.PasswordHash = "x"
		if err := db.CreateUser(ctx, &u, nil); err != nil {
			t.Fatal(err)
		}
		if u.Role == qorgau.RoleMember {
			if err := db.SetUserEmail(ctx, u.Name, u.Name+"@example.kz", nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.SetWebhook(ctx, &store.Webhook{Body: "P", URL: hookURL, Secret: secret}, nil); err != nil {
		t.Fatal(err)
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestNotifySendsEmailAndWebhook(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		// The fake SMTP server offers STARTTLS with httptest's certificate.
		tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
		defer tlsSrv.Close()
		smtpd := newFakeSMTP(t, &tls.Config{Certificates: tlsSrv.TLS.Certificates})
		secret := notify.NewSecret()
		hook := &hookReceiver{secret: secret}
		hs := httptest.NewServer(hook)
		defer hs.Close()
		seed(t, db, hs.URL+"/qorgau", secret)

		client := tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig
		svc := notify.New(db, quiet(), notify.Config{
			Mail:       &notify.SMTP{Addr: smtpd.addr(), From: "alerts@qorgau.example.kz", User: "qorgau", Password: "pw", TLS: &tls.Config{RootCAs: client.RootCAs}},
			ConsoleURL: "https://console.example.kz",
		})
		n := &qorgau.Notice{Kind: qorgau.NoticeOverdue, Bodies: []string{"P"}, Region: "KZ-35", Facility: "EC-166-1",
			Complaint: 42, Key: "overdue/42/P", Text: "Complaint 42 to P: the answer was due 2026-11-20 and is late."}
		if err := svc.Notify(ctx, n); err != nil {
			t.Fatal(err)
		}
		if err := svc.Notify(ctx, &qorgau.Notice{Kind: qorgau.NoticeOverdue, Bodies: []string{"P"}, Complaint: 42, Key: "overdue/42/P", Text: "again"}); err != nil {
			t.Fatal(err)
		}
		sent, err := svc.DeliverDue(ctx)
		if err != nil || sent != 3 {
			t.Fatalf("DeliverDue = %d, %v, want 3 (two emails, one webhook)", sent, err)
		}
		if again, _ := svc.DeliverDue(ctx); again != 0 {
			t.Errorf("DeliverDue again = %d, want 0: each delivery once", again)
		}

		msgs := smtpd.received()
		var rcpts []string
		for _, m := range msgs {
			rcpts = append(rcpts, m.to...)
			if !m.tls {
				t.Error("the message was sent without STARTTLS although the server offered it")
			}
			if m.from != "alerts@qorgau.example.kz" {
				t.Errorf("MAIL FROM = %q", m.from)
			}
			pm, err := mail.ReadMessage(strings.NewReader(m.data))
			if err != nil {
				t.Fatalf("the message does not parse: %v\n%s", err, m.data)
			}
			if pm.Header.Get("To") != m.to[0] {
				t.Errorf("To: %q, envelope recipient %q: each member gets their own message", pm.Header.Get("To"), m.to[0])
			}
			if ct := pm.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type = %q, want plain text", ct)
			}
			if s := pm.Header.Get("Subject"); !strings.Contains(s, "overdue") {
				t.Errorf("Subject = %q", s)
			}
			body, _ := io.ReadAll(quotedprintable.NewReader(pm.Body))
			for _, want := range []string{n.Text, "Complaint: 42", "EC-166-1", "https://console.example.kz/notices"} {
				if !strings.Contains(string(body), want) {
					t.Errorf("the email lacks %q:\n%s", want, body)
				}
			}
			if strings.Contains(string(body), "again") {
				t.Error("the duplicate notice was sent")
			}
		}
		slices.Sort(rcpts)
		if want := []string{"p1@example.kz", "p2@example.kz"}; !slices.Equal(rcpts, want) {
			t.Errorf("recipients = %v, want %v (members of P only)", rcpts, want)
		}
		smtpd.mu.Lock()
		if len(smtpd.auth) != 2 || smtpd.auth[0] != "\x00qorgau\x00pw" {
			t.Errorf("AUTH PLAIN credentials = %q", smtpd.auth)
		}
		smtpd.mu.Unlock()

		got := hook.payloads()
		if hook.bad != 0 || len(got) != 1 {
			t.Fatalf("webhook got %d good and %d bad calls, want 1 good", len(got), hook.bad)
		}
		p := got[0]
		if p.Kind != "overdue" || p.Body != "P" || p.Key != "overdue/42/P" || p.Complaint == nil || *p.Complaint != 42 || p.Text != n.Text || p.ID != n.ID {
			t.Errorf("webhook payload = %+v", p)
		}
	})
}

func TestDeliveriesRetryAcrossRestart(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		smtpd := newFakeSMTP(t, nil)
		smtpd.refuse = 1               // the first RCPT gets 451
		smtpd.reject = "p2@example.kz" // permanently
		secret := notify.NewSecret()
		hook := &hookReceiver{secret: secret, status: http.StatusServiceUnavailable}
		hs := httptest.NewServer(hook)
		defer hs.Close()
		seed(t, db, hs.URL, secret)

		now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
		cfg := notify.Config{Mail: &notify.SMTP{Addr: smtpd.addr(), From: "alerts@example.kz"}, MinBackoff: time.Minute, MaxBackoff: time.Hour}
		first := notify.New(db, quiet(), cfg)
		first.Now = func() time.Time { return now }
		n := &qorgau.Notice{Kind: qorgau.NoticeTerminalDown, Bodies: []string{"P"}, Device: "T-1", Key: "terminal_down/T-1/x", Text: "Terminal T-1 is down"}
		if err := first.Notify(ctx, n); err != nil {
			t.Fatal(err)
		}
		if sent, err := first.DeliverDue(ctx); err != nil || sent != 0 {
			t.Fatalf("first attempt = %d, %v, want 0 sent", sent, err)
		}
		// The server "restarts": a new notifier over the same database,
		// later, with the receiver healthy again.
		hook.mu.Lock()
		hook.status = 0
		hook.mu.Unlock()
		second := notify.New(db, quiet(), cfg)
		second.Now = func() time.Time { return now.Add(30 * time.Second) }
		if sent, _ := second.DeliverDue(ctx); sent != 0 {
			t.Errorf("before the back-off ends = %d sent, want 0", sent)
		}
		second.Now = func() time.Time { return now.Add(2 * time.Minute) }
		if sent, err := second.DeliverDue(ctx); err != nil || sent != 2 {
			t.Fatalf("after the back-off = %d, %v, want 2 (p1's email, the webhook)", sent, err)
		}
		ds, err := db.NoticeDeliveries(ctx, n.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			switch d.Target {
			case "p1@example.kz", "P":
				if !d.Done || d.Failed || d.Attempts != 2 {
					t.Errorf("%s: %+v, want done after 2 attempts", d.Target, d)
				}
			case "p2@example.kz":
				if !d.Done || !d.Failed || d.Attempts != 1 || !strings.Contains(d.LastError, "550") {
					t.Errorf("%s: %+v, want given up after a 550", d.Target, d)
				}
			default:
				t.Errorf("unexpected delivery %+v", d)
			}
		}
		if got := hook.payloads(); len(got) != 1 {
			t.Errorf("webhook calls accepted = %d, want 1", len(got))
		}
	})
}

// TestRunDeliversPromptly checks that Run sends a notice soon after Notify
// returns, without waiting for its minute tick.
func TestRunDeliversPromptly(t *testing.T) {
	url := t.TempDir() + "/q.db"
	db := storetest.Open(t, url)
	secret := notify.NewSecret()
	hook := &hookReceiver{secret: secret}
	hs := httptest.NewServer(hook)
	defer hs.Close()
	seed(t, db, hs.URL, secret)
	svc := notify.New(db, quiet(), notify.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	time.Sleep(50 * time.Millisecond) // let Run reach its wait
	if err := svc.Notify(ctx, &qorgau.Notice{Kind: qorgau.NoticeTamper, Bodies: []string{"P"}, Device: "T-1", Key: "tamper/T-1/1", Text: "opened"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(hook.payloads()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := hook.payloads(); len(got) != 1 || got[0].Kind != "tamper" {
		t.Fatalf("webhook got %+v, want the tamper notice", got)
	}
}

func TestSMTPRefusesPasswordWithoutTLS(t *testing.T) {
	smtpd := newFakeSMTP(t, nil)
	m := &notify.SMTP{Addr: smtpd.addr(), From: "a@example.kz", User: "u", Password: "p"}
	err := m.Send(context.Background(), "b@example.kz", []byte("Subject: x\r\n\r\nx\r\n"))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("Send without STARTTLS but with a password = %v, want a refusal", err)
	}
	if len(smtpd.received()) != 0 {
		t.Error("a message was sent")
	}
}

// TestWebhookRedirectIsNotFollowed checks that a webhook answering with a
// redirect is given up at once, and the redirect's target never called.
func TestWebhookRedirectIsNotFollowed(t *testing.T) {
	db := storetest.Open(t, t.TempDir()+"/q.db")
	ctx := context.Background()
	followed := false
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { followed = true }))
	defer target.Close()
	hs := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	defer hs.Close()
	seed(t, db, hs.URL, notify.NewSecret())
	svc := notify.New(db, quiet(), notify.Config{})
	n := &qorgau.Notice{Kind: qorgau.NoticeTamper, Bodies: []string{"P"}, Device: "T-1", Key: "tamper/T-1/r", Text: "opened"}
	if err := svc.Notify(ctx, n); err != nil {
		t.Fatal(err)
	}
	if sent, err := svc.DeliverDue(ctx); err != nil || sent != 0 {
		t.Fatalf("DeliverDue = %d, %v, want 0", sent, err)
	}
	ds, _ := db.NoticeDeliveries(ctx, n.ID)
	if len(ds) != 1 || !ds[0].Done || !ds[0].Failed || !strings.Contains(ds[0].LastError, "redirects") {
		t.Errorf("delivery = %+v, want given up on the redirect", ds)
	}
	if followed {
		t.Error("the redirect was followed")
	}
}

// TestTwoServersSendOnce runs two notifiers over one database at once, as
// two server instances over PostgreSQL do: every delivery is sent once.
func TestTwoServersSendOnce(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		smtpd := newFakeSMTP(t, nil)
		secret := notify.NewSecret()
		hook := &hookReceiver{secret: secret}
		hs := httptest.NewServer(hook)
		defer hs.Close()
		seed(t, db, hs.URL, secret)
		other := storetest.Open(t, url) // the second server's own pool
		cfg := notify.Config{Mail: &notify.SMTP{Addr: smtpd.addr(), From: "alerts@example.kz"}}
		a, b := notify.New(db, quiet(), cfg), notify.New(other, quiet(), cfg)
		const notices = 20
		for i := range notices {
			if err := a.Notify(ctx, &qorgau.Notice{Kind: qorgau.NoticeTamper, Bodies: []string{"P"}, Device: "T-1",
				Key: fmt.Sprintf("tamper/T-1/%d", i), Text: "opened"}); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		sent := make([]int, 2)
		for i, svc := range []*notify.Service{a, b} {
			wg.Go(func() {
				n, err := svc.DeliverDue(ctx)
				if err != nil {
					t.Error(err)
				}
				sent[i] = n
			})
		}
		wg.Wait()
		// Each notice owes two emails (p1, p2) and one webhook call.
		if total := sent[0] + sent[1]; total != 3*notices {
			t.Errorf("sent %d + %d = %d, want %d", sent[0], sent[1], total, 3*notices)
		}
		if got := len(smtpd.received()); got != 2*notices {
			t.Errorf("emails received = %d, want %d", got, 2*notices)
		}
		if got := len(hook.payloads()); got != notices {
			t.Errorf("webhook calls = %d, want %d", got, notices)
		}
	})
}
