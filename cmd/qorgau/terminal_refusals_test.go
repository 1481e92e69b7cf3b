package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
)

// signedCall sends a request signed by kt's device key exactly as given,
// which kiosk.Client cannot (it builds its own query strings), and returns
// the status and the error message of the answer, or its body if it has
// none.
func signedCall(t *testing.T, kt *kioskTerminal, method, pathQuery, ctype string, body []byte) (int, string) {
	t.Helper()
	nb := make([]byte, 16)
	rand.Read(nb)
	dr := qorgau.DeviceRequest{Method: method, Path: pathQuery, Body: body, DeviceID: kt.DeviceID,
		Time: time.Now(), Nonce: base64.RawURLEncoding.EncodeToString(nb)}
	req, err := http.NewRequest(method, kt.Server+pathQuery, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set(qorgau.HeaderDevice, dr.DeviceID)
	req.Header.Set(qorgau.HeaderTimestamp, strconv.FormatInt(dr.Time.Unix(), 10))
	req.Header.Set(qorgau.HeaderNonce, dr.Nonce)
	req.Header.Set(qorgau.HeaderSignature, dr.Sign(kt.Key))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct{ Message string }
	if json.Unmarshal(b, &e) == nil && e.Message != "" {
		return resp.StatusCode, e.Message
	}
	return resp.StatusCode, string(b)
}

// logSize returns the size of the server's latest checkpoint.
func logSize(t *testing.T, base string) int64 {
	t.Helper()
	_, cp := get(t, base+"/log/checkpoint")
	lines := strings.SplitN(cp, "\n", 3)
	if len(lines) < 3 {
		t.Fatalf("checkpoint %q", cp)
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		t.Fatalf("checkpoint %q: %v", cp, err)
	}
	return n
}

// TestTerminalSubmitRefusals sends submissions that are wrong in one way
// each, all signed correctly by an enrolled terminal: every one is refused
// with a 4xx that says what is wrong, and the log does not grow.
func TestTerminalSubmitRefusals(t *testing.T) {
	w := newWorld(t, 2)
	// A body of another region, and one of this region that has no key yet.
	db, err := store.Open(context.Background(), filepath.Join(w.dir, "qorgau.db"))
	if err != nil {
		t.Fatal(err)
	}
	err = db.SaveBodies(context.Background(), []qorgau.Body{
		{Code: "PROS-KZ-11", Kind: qorgau.BodyProsecutor, Region: "KZ-11", NameKK: "Ақмола", NameRU: "Акмола", NameEN: "Akmola"},
		{Code: "COURT-KZ-35", Kind: qorgau.BodyCourt, Region: "KZ-35", NameKK: "Сот", NameRU: "Суд", NameEN: "Court"},
	}, nil)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, w.dir, "-max-envelope", "65536")
	kt := w.enroll(t, srv.base(), "T-1")
	other := w.enroll(t, srv.base(), "T-2")
	code, reply := kt.newCode(t)
	filed := kt.seal(t, "в камере нет отопления", qorgau.CategoryConditions, []string{"PROS-KZ-35"}, code, reply, "filed-1")
	kt.submit(t, filed)
	fresh := kt.seal(t, "нет воды", qorgau.CategoryConditions, []string{"PROS-KZ-35"}, code, reply, "fresh-1").envelope
	changed := kt.seal(t, "другой текст", qorgau.CategoryConditions, []string{"PROS-KZ-35"}, code, reply, "filed-1").envelope
	byOther := other.seal(t, "нет воды", qorgau.CategoryConditions, []string{"PROS-KZ-35"}, code, reply, "fresh-1").envelope
	lookup := reply.LookupID
	route := "bodies=PROS-KZ-35&category=conditions&lookup=" + lookup
	hundred := strings.TrimSuffix(strings.Repeat("PROS-KZ-35,", 100), ",")

	// Envelopes of the server's limit (-max-envelope) and one byte over.
	sized := func(n int, idem string) []byte {
		t.Helper()
		text := 60000
		for range 3 { // the envelope grows by a byte a byte of text, within one age chunk
			env := kt.seal(t, strings.Repeat("a", text), qorgau.CategoryConditions, []string{"PROS-KZ-35"}, code, reply, idem).envelope
			if len(env) == n {
				return env
			}
			text += n - len(env)
		}
		t.Fatalf("cannot seal an envelope of %d bytes", n)
		return nil
	}
	atLimit, overLimit := sized(65536, "at-limit"), sized(65537, "over-limit")

	size := logSize(t, srv.base())
	tests := []struct {
		name, query string
		envelope    []byte
		status      int
		says        string
	}{
		{"bodies twice", "bodies=PROS-KZ-35&" + route, fresh, 400, `"bodies" is given 2 times`},
		{"urgent twice", route + "&urgent=0&urgent=1", fresh, 400, `"urgent" is given 2 times`},
		{"category twice", route + "&category=torture", fresh, 400, `"category" is given 2 times`},
		{"a body named twice", "bodies=PROS-KZ-35,PROS-KZ-35&category=conditions&lookup=" + lookup, fresh, 400, "named twice"},
		{"an empty body entry", "bodies=PROS-KZ-35,&category=conditions&lookup=" + lookup, fresh, 400, `unknown body ""`},
		{"100 bodies", "bodies=" + hundred + "&category=conditions&lookup=" + lookup, fresh, 400, "1 to 32 bodies"},
		{"a body of another region", "bodies=PROS-KZ-11&category=conditions&lookup=" + lookup, fresh, 400, "serves region KZ-11"},
		{"a body without a key", "bodies=COURT-KZ-35,PROS-KZ-35&category=conditions&lookup=" + lookup, fresh, 400, "COURT-KZ-35 is named but the envelope is not encrypted to it"},
		{"no category", "bodies=PROS-KZ-35&lookup=" + lookup, fresh, 400, "category"},
		{"unknown category", "bodies=PROS-KZ-35&category=weather&lookup=" + lookup, fresh, 400, "weather"},
		{"a lookup id too short", "bodies=PROS-KZ-35&category=conditions&lookup=" + lookup[:30], fresh, 400, "lookup id"},
		{"a lookup id in upper case", "bodies=PROS-KZ-35&category=conditions&lookup=" + strings.ToUpper(lookup), fresh, 400, "lower-case"},
		{"a lookup id not hex", "bodies=PROS-KZ-35&category=conditions&lookup=" + strings.Repeat("zz", 16), fresh, 400, "lookup id"},
		{"an idempotency id reused with other content", route, changed, 409, "already used"},
		{"an envelope sealed by another terminal", route, byOther, 400, `sealed by "T-2"`},
		{"an envelope one byte over the limit", route, overLimit, 413, "65537 bytes, over the limit of 65536"},
	}
	for _, tt := range tests {
		status, msg := signedCall(t, kt, "POST", "/api/terminal/v1/complaints?"+tt.query, "application/vnd.qorgau.envelope", tt.envelope)
		if status != tt.status || !strings.Contains(msg, tt.says) {
			t.Errorf("submit with %s = %d %q, want %d saying %q", tt.name, status, msg, tt.status, tt.says)
		}
	}
	if got := logSize(t, srv.base()); got != size {
		t.Errorf("log size after refused submissions = %d, want %d", got, size)
	}
	if status, msg := signedCall(t, kt, "POST", "/api/terminal/v1/complaints?"+route, "application/vnd.qorgau.envelope", atLimit); status != 200 {
		t.Errorf("submit an envelope of the limit = %d %q, want 200", status, msg)
	}
}

// TestTerminalFollowupRefusals probes the routes a kiosk uses after filing:
// the receipt, the follow-up by lookup id and the read confirmation. A
// malformed id is 400; another terminal's complaint, or a lookup id that is
// not the complaint's, is 404 worded as for a complaint that does not
// exist; and a refused or repeated confirmation adds nothing to the log.
func TestTerminalFollowupRefusals(t *testing.T) {
	w := newWorld(t, 2)
	srv := startServe(t, w.dir)
	kt := w.enroll(t, srv.base(), "T-1")
	other := w.enroll(t, srv.base(), "T-2")
	code, reply := kt.newCode(t)
	res := kt.submit(t, kt.seal(t, "нет прогулок неделю", qorgau.CategoryConditions, []string{"PROS-KZ-35"}, code, reply, "followup-1"))
	id := strconv.FormatInt(res.Complaint, 10)
	lookup := reply.LookupID
	waitUntil(t, "the complaint to be delivered", 10*time.Second, func() bool { // it follows the log's commit
		fu, err := kt.Followup(context.Background(), lookup)
		return err == nil && len(fu) == 1
	})
	read := func(kt *kioskTerminal, id, body string) (int, string) {
		t.Helper()
		return signedCall(t, kt, "POST", "/api/terminal/v1/complaints/"+id+"/read", "application/json", []byte(body))
	}

	size := logSize(t, srv.base())
	tests := []struct {
		name         string
		kt           *kioskTerminal
		method, path string
		body         string
		status       int
		says         string
	}{
		{"the receipt of another terminal's complaint", other, "GET", "/api/terminal/v1/complaints/" + id + "/receipt", "", 404, "complaint " + id + " not found"},
		{"the receipt of no complaint", kt, "GET", "/api/terminal/v1/complaints/99999/receipt", "", 404, "complaint 99999 not found"},
		{"the receipt of a negative id", kt, "GET", "/api/terminal/v1/complaints/-1/receipt", "", 400, "must be a number"},
		{"the receipt of an id past int64", kt, "GET", "/api/terminal/v1/complaints/99999999999999999999/receipt", "", 400, "must be a number"},
		{"a follow-up by an upper-case lookup id", kt, "GET", "/api/terminal/v1/followup/" + strings.ToUpper(lookup), "", 400, "lower-case"},
		{"a follow-up by a short lookup id", kt, "GET", "/api/terminal/v1/followup/" + lookup[:30], "", 400, "lookup id"},
		{"a follow-up by a lookup id not hex", kt, "GET", "/api/terminal/v1/followup/" + strings.Repeat("zz", 16), "", 400, "lookup id"},
		{"a confirmation without a lookup id", kt, "POST", "/api/terminal/v1/complaints/" + id + "/read", `{}`, 400, "lookup id"},
		{"a confirmation by an upper-case lookup id", kt, "POST", "/api/terminal/v1/complaints/" + id + "/read", `{"lookup":"` + strings.ToUpper(lookup) + `"}`, 400, "lower-case"},
		{"a confirmation by another code's lookup id", kt, "POST", "/api/terminal/v1/complaints/" + id + "/read", `{"lookup":"` + strings.Repeat("0", 32) + `"}`, 404, "complaint " + id + " not found"},
		{"a confirmation of no complaint", kt, "POST", "/api/terminal/v1/complaints/99999/read", `{"lookup":"` + lookup + `"}`, 404, "complaint 99999 not found"},
	}
	for _, tt := range tests {
		ctype := ""
		if tt.body != "" {
			ctype = "application/json"
		}
		status, msg := signedCall(t, tt.kt, tt.method, tt.path, ctype, []byte(tt.body))
		if status != tt.status || !strings.Contains(msg, tt.says) {
			t.Errorf("%s = %d %q, want %d saying %q", tt.name, status, msg, tt.status, tt.says)
		}
	}
	// A confirmation before any answer confirms nothing and logs nothing.
	if status, msg := read(kt, id, `{"lookup":"`+lookup+`"}`); status != 200 || !strings.Contains(msg, `"delivered":[]`) {
		t.Errorf("confirmation before an answer = %d %s, want 200 delivering nothing", status, msg)
	}
	if got := logSize(t, srv.base()); got != size {
		t.Fatalf("log size after refused requests = %d, want %d", got, size)
	}

	// The body answers. The receipt code, not the terminal, is what opens
	// the answer (DESIGN.md §5: the code is the secret for follow-up), so
	// that a person moved to another facility reads it at that kiosk:
	// another terminal with the code gets the complaint and may confirm.
	member := consoleLogin(t, w, srv.base(), worldMember)
	waitUntil(t, "the answer to be taken", 10*time.Second, func() bool {
		resp, err := member.PostForm(srv.base()+"/inbox/"+id+"/reply", url.Values{"text": {"Проверка назначена."}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusSeeOther
	})
	size = logSize(t, srv.base())
	if fu, err := other.Followup(context.Background(), lookup); err != nil || len(fu) != 1 || len(fu[0].Replies) != 1 {
		t.Fatalf("follow-up at another terminal = %+v, %v; want the complaint and its answer", fu, err)
	}
	if status, msg := read(other, id, `{"lookup":"`+lookup+`"}`); status != 200 || !strings.Contains(msg, `"delivered":["PROS-KZ-35"]`) {
		t.Errorf("confirmation at another terminal = %d %s, want 200 delivering PROS-KZ-35", status, msg)
	}
	if got := logSize(t, srv.base()); got != size+1 {
		t.Errorf("log size after the confirmation = %d, want %d (one status leaf)", got, size+1)
	}
	if status, msg := read(kt, id, `{"lookup":"`+lookup+`"}`); status != 200 || !strings.Contains(msg, `"delivered":[]`) {
		t.Errorf("second confirmation = %d %s, want 200 delivering nothing", status, msg)
	}
	if got := logSize(t, srv.base()); got != size+1 {
		t.Errorf("log size after a second confirmation = %d, want %d", got, size+1)
	}
}
