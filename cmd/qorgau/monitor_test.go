package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
	"qorgau.kz/qorgau/internal/kiosk"
	"qorgau.kz/qorgau/internal/seal"
	"qorgau.kz/qorgau/internal/store"
)

// webhookSink is a body's webhook receiver: it accepts only calls signed
// with the secret the admin command printed.
type webhookSink struct {
	mu     sync.Mutex
	secret string
	kinds  []string
	bad    int
}

func (h *webhookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	mac := hmac.New(sha256.New, []byte(h.secret))
	mac.Write([]byte(r.Header.Get("X-Qorgau-Timestamp") + "." + string(body)))
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Header.Get("X-Qorgau-Signature") != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
		h.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var p struct {
		Kind string `json:"kind"`
	}
	json.Unmarshal(body, &p)
	h.kinds = append(h.kinds, p.Kind)
}

func (h *webhookSink) got() ([]string, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.kinds...), h.bad
}

// TestMonitorTestComplaint runs a test complaint end to end through the
// real binary: an NPM coordinator makes a one-time code in the console, a
// kiosk files a marked test complaint with it, the code works once, the
// prosecutor's member reads the complaint, and the coordinator's test page
// shows when it reached each body and when each first opened it; the NPM's
// webhook and console are told it arrived.
func TestMonitorTestComplaint(t *testing.T) {
	w := newWorld(t, 1)
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(w.dir, "qorgau.db"))
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := auth.HashPassword(worldPassword, auth.Params{Memory: 1024, Time: 1, Threads: 1})
	secret, _ := auth.NewTOTPSecret("Qorgau", "monitor")
	if err := db.CreateUser(ctx, &qorgau.User{Name: "monitor", Role: qorgau.RoleNPM, PasswordHash: hash, TOTPSecret: secret}, nil); err != nil {
		t.Fatal(err)
	}
	db.Close()
	w.totp["monitor"] = secret

	sink := &webhookSink{}
	hook := httptest.NewServer(sink)
	defer hook.Close()
	out, errOut, code := runQ(t, nil, "admin", "body", "webhook", "set", "NPM", hook.URL+"/qorgau", "-data", w.dir)
	m := regexp.MustCompile(`secret \(shown once; give it to the receiver\): (\S+)`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("admin body webhook set = %d\n%s%s", code, out, errOut)
	}
	sink.secret = m[1]

	srv := startServe(t, w.dir)
	kt := w.enroll(t, srv.base(), "T-1")
	monitor := consoleLogin(t, w, srv.base(), "monitor")
	resp, err := monitor.PostForm(srv.base()+"/tests", nil)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	cm := regexp.MustCompile(`id="test-code">([0-9 ]{19})</output>`).FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || cm == nil {
		t.Fatalf("POST /tests = %d, shows no code", resp.StatusCode)
	}
	testCode := string(cm[1])
	if _, body := getPage(t, monitor, srv.base()+"/tests"); strings.Contains(body, testCode) {
		t.Error("the test page shows the code again")
	}

	p := kt.seal(t, "Тестовая жалоба мониторинга НПМ.", qorgau.CategoryOther, []string{"PROS-KZ-35", "NPM"}, "", mustReply(t, kt), "test-1")
	refused := func(what string, r kiosk.Routing, env []byte, status int) {
		t.Helper()
		_, err := kt.Submit(ctx, env, r)
		var ae *kiosk.APIError
		if !errors.As(err, &ae) || ae.Status != status {
			t.Errorf("%s = %v, want %d", what, err, status)
		}
	}
	// A kiosk asks about a code before it seals a test complaint: a clear
	// 400 or 403, and asking uses nothing.
	checked := func(what, code string, status int) {
		t.Helper()
		err := kt.CheckTestCode(ctx, code)
		var ae *kiosk.APIError
		if status == http.StatusOK && err != nil || status != http.StatusOK && (!errors.As(err, &ae) || ae.Status != status) {
			t.Errorf("checking %s = %v, want %d", what, err, status)
		}
	}
	checked("a malformed code", "T7K2", http.StatusBadRequest)
	checked("an unknown code", "1234 5678 9012 3456", http.StatusForbidden)
	checked("the code", testCode, http.StatusOK)
	checked("the code again", testCode, http.StatusOK)
	r := p.routing
	r.Test = true
	refused("a test flag without a code", r, p.envelope, http.StatusBadRequest)
	r.TestCode = "1234 5678 9012 3456"
	refused("a test flag with an unknown code", r, p.envelope, http.StatusForbidden)
	r.Test = false
	r.TestCode = testCode
	refused("a code without the test flag", r, p.envelope, http.StatusBadRequest)
	r.Test = true
	res, err := kt.Submit(ctx, p.envelope, r)
	if err != nil {
		t.Fatalf("test complaint with the code = %v", err)
	}
	if again, err := kt.Submit(ctx, p.envelope, r); err != nil || again.Complaint != res.Complaint {
		t.Errorf("the terminal's retry = %+v, %v; want the same complaint", again, err)
	}
	p2 := kt.seal(t, "Вторая тестовая жалоба.", qorgau.CategoryOther, []string{"PROS-KZ-35", "NPM"}, "", mustReply(t, kt), "test-2")
	r2 := p2.routing
	r2.Test, r2.TestCode = true, testCode
	refused("a second complaint with a used code", r2, p2.envelope, http.StatusForbidden)
	checked("the used code", testCode, http.StatusForbidden)

	// The prosecutor's member opens it; the NPM does not yet.
	id := strconv.FormatInt(res.Complaint, 10)
	member := consoleLogin(t, w, srv.base(), worldMember)
	var status int
	var body string
	for range 100 {
		if status, body = getPage(t, member, srv.base()+"/inbox/"+id); status == 200 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if status != 200 || !strings.Contains(body, "Тестовая жалоба мониторинга") {
		t.Fatalf("the member opening the test complaint = %d", status)
	}

	_, body = getPage(t, monitor, srv.base()+"/tests")
	rows := regexp.MustCompile(`(?s)<tr class="arrival">\s*<td class="code">([^<]+)</td>.*?</tr>`).FindAllStringSubmatch(body, -1)
	if len(rows) != 2 {
		t.Fatalf("the test page shows %d arrivals, want 2 (PROS-KZ-35, NPM):\n%s", len(rows), body)
	}
	for _, row := range rows {
		times := regexp.MustCompile(`<time datetime=`).FindAllString(row[0], -1)
		switch row[1] {
		case "PROS-KZ-35":
			if len(times) != 2 {
				t.Errorf("PROS-KZ-35's arrival shows %d times, want delivered and first opened:\n%s", len(times), row[0])
			}
		case "NPM":
			if len(times) != 1 || !strings.Contains(row[0], "ещё не открыта") {
				t.Errorf("NPM's arrival should show delivery and 'not opened yet':\n%s", row[0])
			}
		default:
			t.Errorf("arrival at unexpected body %q", row[1])
		}
	}
	if !strings.Contains(body, `<td class="num">`+id+`</td>`) {
		t.Errorf("the test page does not name complaint %s", id)
	}

	// The NPM is told: in the coordinator's console and by its webhook.
	if _, body = getPage(t, monitor, srv.base()+"/notices"); !strings.Contains(body, "Тестовая жалоба № "+id+" поступила") {
		t.Error("the coordinator's notices lack the test_delivered notice")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		kinds, bad := sink.got()
		if len(kinds) > 0 || time.Now().After(deadline) {
			if len(kinds) != 1 || kinds[0] != "test_delivered" || bad != 0 {
				t.Errorf("NPM's webhook got %v (%d badly signed), want one test_delivered", kinds, bad)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Another body's member cannot make test codes.
	if status, _ := getPage(t, member, srv.base()+"/tests"); status != http.StatusForbidden {
		t.Errorf("a prosecutor's member on /tests = %d, want 403", status)
	}

	srv.kill()
	sdb, err := sql.Open("sqlite", filepath.Join(w.dir, "qorgau.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	var complaints, tests int
	sdb.QueryRow(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN test THEN 1 ELSE 0 END), 0) FROM complaints`).Scan(&complaints, &tests)
	if complaints != 1 || tests != 1 {
		t.Errorf("stored complaints = %d (%d test), want exactly the one test complaint", complaints, tests)
	}
	for _, action := range []string{qorgau.AuditTestCodeIssued, qorgau.AuditTestCodeUsed} {
		var n int
		sdb.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action = $1`, action).Scan(&n)
		if n != 1 {
			t.Errorf("audit records %s = %d, want 1", action, n)
		}
	}
}

// mustReply derives a fresh receipt code's reply key, as a kiosk does.
func mustReply(t *testing.T, kt *kioskTerminal) *seal.ReplyKey {
	t.Helper()
	reply, err := seal.DeriveReply(seal.NewReceiptCode(), kt.salt)
	if err != nil {
		t.Fatal(err)
	}
	return reply
}
