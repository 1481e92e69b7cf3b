package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"qorgau.kz/qorgau/internal/auth"
	"qorgau.kz/qorgau/internal/browsertest"
	"qorgau.kz/qorgau/internal/kiosk"
	"qorgau.kz/qorgau/internal/kiosk/ui"
	"qorgau.kz/qorgau/internal/seal"
)

// TestKioskEndToEnd is the whole chain in a browser: a person files a
// complaint on the kiosk screens (Chromium, in Russian) served by a real
// terminal agent enrolled with the real `qorgau serve`; a member of the
// prosecutor's office reads it through the staff API and answers; the
// person checks the answer on the kiosk with the receipt code and confirms
// reading it, which the server records. Set QORGAU_SCREENSHOTS=DIR to keep
// the screenshots.
func TestKioskEndToEnd(t *testing.T) {
	browsertest.Chromium(t) // skip before starting a server when there is no browser
	// The agent derives the reply key of every receipt code (64 MiB
	// Argon2id, ~0.2 s, twice: on sending and on checking). The code path
	// is the same with cheaper parameters; the server never derives.
	params := seal.ReplyParams
	seal.ReplyParams = seal.KDFParams{Memory: 256, Time: 1, Threads: 1}
	t.Cleanup(func() { seal.ReplyParams = params })

	w := newWorld(t, 1)
	srv := startServe(t, w.dir)
	ctx := context.Background()
	agent, err := kiosk.Open(ctx, kiosk.Config{Server: srv.base(), DataDir: t.TempDir(), Token: w.tokens["T-1"],
		HTTP: &http.Client{Timeout: 10 * time.Second}, Heartbeat: time.Second,
		RetryMin: 50 * time.Millisecond, RetryMax: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- agent.Run(runCtx) }()
	defer func() { stop(); <-done }()
	waitUntil(t, "the agent online", 10*time.Second, agent.Online)
	h, err := ui.New(agent, ui.Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h) // on 127.0.0.1, which the kiosk serves
	t.Cleanup(ts.Close)

	b := &e2eKiosk{Browser: browsertest.New(t, 1280, 800), base: ts.URL}
	const typed, text = "нет воды", "Нет воды" // the first letter is capitalised by itself
	b.Do("open the kiosk", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("body.s-start")))
	b.Shot("start")
	b.touch(`button[name=lang][value=ru]`, "menu")
	b.touch(`button[name=go][value=new]`, "bodies")
	b.tap(`label:has(input[value="PROS-KZ-35"])`)
	b.Shot("bodies")
	b.touch(`.nav .next`, "category")
	b.touch(`button[value=medical]`, "place")
	b.touch(`button[value=B1]`, "time")
	b.tap(`label:has(input[value=today])`)
	b.touch(`.nav .next`, "text")
	for _, r := range typed {
		key := string(r)
		if r == ' ' {
			key = "space"
		}
		b.tap(fmt.Sprintf(`.kb .key[data-k=%q]`, key))
	}
	if got := browsertest.Run(b.Browser, "read the text", chromedp.Value(chromedp.CSS("#text"))); got != text {
		b.Fatalf("the keyboard typed %q, want %q", got, text)
	}
	b.Shot("text")
	b.touch(`.nav .next`, "identity")
	b.touch(`button[value=anon]`, "review")
	b.Shot("review")
	b.touch(`button.send`, "sent")
	b.Shot("sent")
	code := strings.Join(strings.Fields(b.text("#code")), "")
	if len(code) != 16 || strings.Trim(code, "0123456789") != "" {
		b.Fatalf("the receipt shows %q, want 16 digits", code)
	}
	waitUntil(t, "the agent to deliver the complaint", 20*time.Second, func() bool {
		st := agent.Status()
		return st.Outbox == 0 && st.Delivered == 1
	})

	// The member signs in through the staff API, finds the complaint in the
	// inbox, reads it (decrypted in the session) and answers.
	api := &staffAPI{t: t, base: srv.base()}
	totp, _ := auth.TOTPCode(w.totp[worldMember], time.Now())
	var session struct {
		Token string `json:"token"`
	}
	api.call("POST", "/api/v1/session", map[string]string{"name": worldMember, "password": worldPassword, "totp": totp}, http.StatusCreated, &session)
	api.token = session.Token
	var inbox struct {
		Complaints []struct {
			ID int64 `json:"id"`
		} `json:"complaints"`
	}
	api.call("GET", "/api/v1/inbox", nil, http.StatusOK, &inbox)
	if len(inbox.Complaints) != 1 {
		t.Fatalf("the member's inbox holds %+v, want the one complaint", inbox.Complaints)
	}
	id := strconv.FormatInt(inbox.Complaints[0].ID, 10)
	type complaint struct {
		State    string `json:"state"`
		Document struct {
			Text     string `json:"text"`
			Category string `json:"category"`
		} `json:"document"`
	}
	var got complaint
	api.call("GET", "/api/v1/complaints/"+id, nil, http.StatusOK, &got)
	if got.Document.Text != text || got.Document.Category != "medical" {
		t.Fatalf("the member reads %+v, want text %q in category medical", got, text)
	}
	const reply = "Проверка назначена, воду дадут завтра."
	api.call("POST", "/api/v1/complaints/"+id+"/reply", map[string]string{"text": reply}, http.StatusOK, &got)
	if got.State != "answered" {
		t.Fatalf("after the reply the complaint is %q, want answered", got.State)
	}

	// Back at the kiosk: the person checks the answer with the receipt code.
	b.touch(`.nav button.primary`, "start")
	b.touch(`button[name=lang][value=ru]`, "menu")
	b.touch(`button[value=check]`, "check")
	for _, d := range code {
		b.tap(fmt.Sprintf(`.keypad [data-d="%c"]`, d))
	}
	b.Shot("check")
	b.touch(`.nav button.primary`, "answer")
	b.Shot("answer")
	if main := b.text("main"); !strings.Contains(main, reply) || !strings.Contains(main, "Прокуратура Карагандинской области") ||
		!strings.Contains(main, "Доставлена органу") || !strings.Contains(main, "Дан ответ") {
		b.Fatalf("the answer screen shows %q, want the reply %q from the prosecutor's office, and the history from its delivery to the answer", main, reply)
	}
	b.touch(`.answer form button`, "answer")
	b.Shot("answer-read")
	if main := b.text("main"); !strings.Contains(main, "Вы прочитали ответ") {
		b.Fatalf("after reading, the history does not show it: %q", main)
	}
	waitUntil(t, "the server to record the answer as read", 10*time.Second, func() bool {
		api.call("GET", "/api/v1/complaints/"+id, nil, http.StatusOK, &got)
		return got.State == "answer-delivered"
	})
}

// e2eKiosk is Chromium on the kiosk screens of a real agent.
type e2eKiosk struct {
	*browsertest.Browser
	base string
}

// touch clicks sel and waits for the screen it leads to.
func (b *e2eKiosk) touch(sel, screen string) {
	b.T.Helper()
	b.Do("touch "+sel, chromedp.Click(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS("body.s-"+screen)))
}

// tap clicks sel without leaving the screen.
func (b *e2eKiosk) tap(sel string) {
	b.T.Helper()
	b.Do("tap "+sel, chromedp.Click(chromedp.CSS(sel)))
}

func (b *e2eKiosk) text(sel string) string {
	b.T.Helper()
	return browsertest.Run(b.Browser, "read "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// staffAPI calls /api/v1 as a program does, with a bearer token.
type staffAPI struct {
	t     *testing.T
	base  string
	token string
}

// call sends body as JSON, wants the status and decodes the answer into out.
func (a *staffAPI) call(method, path string, body any, status int, out any) {
	a.t.Helper()
	var r io.Reader
	if body != nil {
		js, _ := json.Marshal(body)
		r = strings.NewReader(string(js))
	}
	req, _ := http.NewRequest(method, a.base+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	js, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		a.t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, js, status)
	}
	if err := json.Unmarshal(js, out); err != nil {
		a.t.Fatalf("%s %s: %v in %s", method, path, err, js)
	}
}
