package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
	"qorgau.kz/qorgau/internal/fleet"
	"qorgau.kz/qorgau/internal/web"
)

// withFleet restarts e's server with a fleet tracker over e's store, on
// e's clock, and returns the tracker.
func withFleet(t *testing.T, e *env, cfg web.Config) *fleet.Tracker {
	t.Helper()
	tr, err := fleet.Load(context.Background(), e.db, fleet.Config{Now: func() time.Time { return e.now }})
	must(t, err)
	cfg.Fleet = tr
	if cfg.Version == "" {
		cfg.Version = "test"
	}
	e.srv, err = web.New(e.db, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	must(t, err)
	e.srv.Now = func() time.Time { return e.now }
	e.srv.PasswordParams = fastParams
	e.ts.Close()
	e.ts = httptest.NewServer(e.srv.Handler())
	t.Cleanup(e.ts.Close)
	return tr
}

// sendJSON signs and sends a terminal's JSON request.
func (tm *terminal) sendJSON(t *testing.T, path string, v any) (int, map[string]any) {
	t.Helper()
	var body []byte
	switch x := v.(type) {
	case string:
		body = []byte(x)
	default:
		body, _ = json.Marshal(v)
	}
	req := tm.signed("POST", path, body, tm.e.now, nonce())
	req.Header.Set("Content-Type", "application/json")
	return send(t, req)
}

func journalChain(seq int64, prev string, at time.Time, kinds ...qorgau.JournalKind) []qorgau.JournalEntry {
	var list []qorgau.JournalEntry
	for i, k := range kinds {
		e := qorgau.JournalEntry{Seq: seq + 1, Time: at.Add(time.Duration(i) * time.Second), Boot: "b1", Kind: k, Prev: prev}
		e.Hash = e.ComputeHash()
		list = append(list, e)
		seq, prev = e.Seq, e.Hash
	}
	return list
}

func TestTerminalHeartbeatAndJournal(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	tr := withFleet(t, e, web.Config{RequireTOTP: true})
	tm := e.enroll(t, "T-1")
	ctx := context.Background()

	code, v := tm.sendJSON(t, "/api/terminal/v1/heartbeat", qorgau.Heartbeat{Boot: "b1", Uptime: 10, Sent: e.now, Network: qorgau.NetworkUp})
	if code != http.StatusOK || v["interval_seconds"] != float64(60) || v["journal_seq"] != float64(0) || v["server_time"] != float64(e.now.Unix()) {
		t.Fatalf("heartbeat = %d %v", code, v)
	}
	before, _, _ := tr.LastSeen("T-1")
	for name, body := range map[string]string{
		"bad JSON":      `{"boot":`,
		"unknown field": `{"boot":"b1","colour":"red"}`,
		"bad network":   `{"boot":"b1","network":"sideways"}`,
		"negative":      `{"boot":"b1","outbox":-1}`,
	} {
		e.now = e.now.Add(time.Second)
		if code, v := tm.sendJSON(t, "/api/terminal/v1/heartbeat", body); code != http.StatusBadRequest || v["message"] == nil {
			t.Errorf("heartbeat with %s = %d %v, want 400 with a message", name, code, v)
		}
	}
	if after, _, _ := tr.LastSeen("T-1"); !after.Equal(before) {
		t.Errorf("a refused heartbeat moved last-seen from %v to %v", before, after)
	}

	entries := journalChain(0, qorgau.JournalGenesis, e.now, qorgau.JournalBoot, qorgau.JournalHeartbeat, qorgau.JournalNetworkLost)
	code, v = tm.sendJSON(t, "/api/terminal/v1/journal", map[string]any{"entries": entries})
	if code != http.StatusOK || v["journal_seq"] != float64(3) {
		t.Fatalf("journal = %d %v", code, v)
	}
	// A chain that does not continue the stored head: 400, nothing stored,
	// and an alarm recorded.
	forged := journalChain(3, strings.Repeat("1", 64), e.now, qorgau.JournalNetworkBack)
	code, v = tm.sendJSON(t, "/api/terminal/v1/journal", map[string]any{"entries": forged})
	if code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(v["message"]), "chain") {
		t.Errorf("broken chain = %d %v, want 400 naming the chain", code, v)
	}
	if seq, _, _ := e.db.JournalHead(ctx, "T-1"); seq != 3 {
		t.Errorf("head after a broken chain = %d, want 3", seq)
	}
	alarms, _ := e.db.FleetAlarms(ctx, "EC-166-1", 10)
	if len(alarms) != 1 || alarms[0].Kind != qorgau.AlarmJournalBroken || alarms[0].Device != "T-1" {
		t.Errorf("alarms = %+v, want one journal_broken for T-1", alarms)
	}
	for name, body := range map[string]string{"empty": `{"entries":[]}`, "bad JSON": `{"entries":[{]}`} {
		if code, _ := tm.sendJSON(t, "/api/terminal/v1/journal", body); code != http.StatusBadRequest {
			t.Errorf("journal %s = %d, want 400", name, code)
		}
	}
	e.now = e.now.Add(time.Second)
	if _, v := tm.sendJSON(t, "/api/terminal/v1/heartbeat", qorgau.Heartbeat{Boot: "b1", Outbox: 7, LogSize: 4321}); v["journal_seq"] != float64(3) {
		t.Errorf("journal_seq after upload = %v, want 3", v["journal_seq"])
	}
	// "after" names an entry the server already holds: it does not count,
	// and the entries must still continue the stored head.
	head := entries[2]
	code, v = tm.sendJSON(t, "/api/terminal/v1/journal", map[string]any{"entries": forged, "after": qorgau.JournalLink{Seq: 2, Hash: entries[1].Hash}})
	if code != http.StatusBadRequest {
		t.Errorf("a broken chain with an old after = %d %v, want 400", code, v)
	}
	for name, after := range map[string]string{"seq 0": `{"seq":0,"hash":"` + head.Hash + `"}`, "short hash": `{"seq":9,"hash":"abc"}`} {
		if code, _ := tm.sendJSON(t, "/api/terminal/v1/journal", `{"entries":[],"after":`+after+`}`); code != http.StatusBadRequest {
			t.Errorf("journal with after %s = %d, want 400", name, code)
		}
	}
	// The terminal dropped entries up to 10 once the server held them, and
	// the server, restored from a backup, holds 3: the entries chained to
	// entry 10 are stored, and the alarm names 4 to 10 as missing.
	dropped := journalChain(3, head.Hash, e.now, qorgau.JournalHeartbeat, qorgau.JournalHeartbeat, qorgau.JournalHeartbeat,
		qorgau.JournalHeartbeat, qorgau.JournalHeartbeat, qorgau.JournalHeartbeat, qorgau.JournalHeartbeat)
	last := dropped[len(dropped)-1]
	kept := journalChain(last.Seq, last.Hash, e.now, qorgau.JournalNetworkBack, qorgau.JournalHeartbeat)
	code, v = tm.sendJSON(t, "/api/terminal/v1/journal", map[string]any{"entries": kept, "after": qorgau.JournalLink{Seq: last.Seq, Hash: last.Hash}})
	if code != http.StatusOK || v["journal_seq"] != float64(12) {
		t.Fatalf("journal after the server's restore = %d %v, want 200 and 12", code, v)
	}
	alarms, _ = e.db.FleetAlarms(ctx, "EC-166-1", 10)
	if len(alarms) != 3 || alarms[0].Kind != qorgau.AlarmJournalGap || !strings.Contains(alarms[0].Detail, "entries 4 to 10 are missing") {
		t.Errorf("alarms = %+v, want a journal_gap naming entries 4 to 10 after two journal_broken", alarms)
	}
	e.now = e.now.Add(time.Second)
	if _, v := tm.sendJSON(t, "/api/terminal/v1/heartbeat", qorgau.Heartbeat{Boot: "b1", Outbox: 7, LogSize: 4321}); v["journal_seq"] != float64(12) {
		t.Errorf("journal_seq after the gap = %v, want 12", v["journal_seq"])
	}
	// The facility's fleet page shows what the last heartbeat said.
	_, page := e.do(e.client(), "GET", "/fleet/facility/EC-166-1", nil, e.session(qorgau.RoleNPM))
	i := strings.Index(page, `aria-labelledby="terminals"`)
	if i < 0 || !strings.Contains(page[i:], `<td class="num">7</td>`) || !strings.Contains(page[i:], "4321") {
		t.Error("the facility's fleet page does not show the terminal's outbox and log size")
	}
}

func TestTerminalUsage(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	withFleet(t, e, web.Config{RequireTOTP: true})
	tm := e.enroll(t, "T-1")
	ctx := context.Background()
	rep := qorgau.UsageReport{Day: "2026-11-23", Reached: map[string]int{"start": 9, "language": 7}, Abandoned: map[string]int{"language": 2}}
	if code, v := tm.sendJSON(t, "/api/terminal/v1/usage", rep); code != http.StatusOK {
		t.Fatalf("usage = %d %v", code, v)
	}
	bad := []string{
		`{"day":"23.11.2026","reached":{},"abandoned":{}}`,
		`{"day":"2026-11-23","reached":{"start":100,"name_of_person":1},"abandoned":{}}`,
		`{"day":"2026-11-23","reached":{"start":-5},"abandoned":{}}`,
		`not json`,
	}
	for _, b := range bad {
		if code, _ := tm.sendJSON(t, "/api/terminal/v1/usage", b); code != http.StatusBadRequest {
			t.Errorf("usage %s = %d, want 400", b, code)
		}
	}
	got, err := e.db.Usage(ctx, "T-1", "2026-11-23")
	if err != nil || got.Reached["start"] != 9 || got.Abandoned["language"] != 2 {
		t.Errorf("stored usage = %+v, %v; want the first report unchanged", got, err)
	}
	// The facility's fleet page shows where people give up.
	_, page := e.do(e.client(), "GET", "/fleet/facility/EC-166-1?from=2026-11-20&to=2026-11-26", nil, e.session(qorgau.RoleNPM))
	i := strings.Index(page, `aria-labelledby="usage"`)
	if i < 0 || !strings.Contains(page[i:], "Выбор языка") && !strings.Contains(page[i:], "выбор языка") || !strings.Contains(page[i:], `badge-warn">2<`) {
		t.Error("the facility's fleet page does not show the usage counters")
	}
}

// postBatch sends a camera source's batch with token.
func (e *env) postBatch(t *testing.T, token string, body []byte) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/devices/heartbeats", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return send(t, req)
}

func (e *env) addSource(t *testing.T, src qorgau.CameraSource) string {
	t.Helper()
	token, id := auth.NewToken()
	must(t, e.db.CreateCameraSource(context.Background(), &src, id, nil))
	return token
}

func TestCameraBatch(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	tr := withFleet(t, e, web.Config{RequireTOTP: true})
	token := e.addSource(t, qorgau.CameraSource{Name: "vms-1", Facility: "EC-166-1"})
	beats := []qorgau.DeviceBeat{
		{Device: "C-1", Time: e.now, OK: true},
		{Device: "C-2", Time: e.now, OK: true},                  // another facility
		{Device: "T-1", Time: e.now, OK: true},                  // a terminal
		{Device: "NOPE", Time: e.now, OK: true},                 // unknown
		{Device: "C-1", Time: e.now.Add(time.Hour), OK: true},   // from the future
		{Device: "C-1", Time: e.now, OK: false, Detail: "dark"}, // a fault, taken
	}
	body, _ := json.Marshal(map[string]any{"heartbeats": beats})
	code, v := e.postBatch(t, token, body)
	if code != http.StatusOK || v["accepted"] != float64(2) {
		t.Fatalf("batch = %d %v, want 200 with 2 accepted", code, v)
	}
	rejected, _ := v["rejected"].([]any)
	var idx []int
	for _, r := range rejected {
		idx = append(idx, int(r.(map[string]any)["index"].(float64)))
	}
	if fmt.Sprint(idx) != "[1 2 3 4]" {
		t.Errorf("rejected indices = %v, want [1 2 3 4]: %v", idx, rejected)
	}

	// A country-wide source sees C-2 too.
	all := e.addSource(t, qorgau.CameraSource{Name: "poller"})
	e.now = e.now.Add(10 * time.Second)
	body, _ = json.Marshal(map[string]any{"heartbeats": []qorgau.DeviceBeat{{Device: "C-2", Time: e.now, OK: true}}})
	if code, v := e.postBatch(t, all, body); code != http.StatusOK || v["accepted"] != float64(1) {
		t.Errorf("country-wide batch = %d %v", code, v)
	}
	if at, _, _ := tr.LastSeen("C-2"); !at.Equal(e.now.UTC().Truncate(0)) && !at.Equal(e.now) {
		t.Errorf("C-2 last seen %v, want %v", at, e.now)
	}

	seenBefore, _, _ := tr.LastSeen("C-1")
	e.now = e.now.Add(10 * time.Second)
	big := make([]qorgau.DeviceBeat, qorgau.MaxBeatsPerBatch+1)
	for k := range big {
		big[k] = qorgau.DeviceBeat{Device: "C-1", Time: e.now, OK: true}
	}
	bigBody, _ := json.Marshal(map[string]any{"heartbeats": big})
	revoked := e.addSource(t, qorgau.CameraSource{Name: "old"})
	must(t, e.db.RevokeCameraSource(context.Background(), "old", nil))
	good, _ := json.Marshal(map[string]any{"heartbeats": []qorgau.DeviceBeat{{Device: "C-1", Time: e.now, OK: true}}})
	for _, tt := range []struct {
		name  string
		token string
		body  []byte
		want  int
	}{
		{"no token", "", good, http.StatusUnauthorized},
		{"wrong token", "not-a-token", good, http.StatusUnauthorized},
		{"revoked token", revoked, good, http.StatusUnauthorized},
		{"bad JSON", token, []byte(`{"heartbeats":[{"device":`), http.StatusBadRequest},
		{"unknown field", token, []byte(`{"heartbeats":[],"x":1}`), http.StatusBadRequest},
		{"oversize batch", token, bigBody, http.StatusRequestEntityTooLarge},
	} {
		if code, v := e.postBatch(t, tt.token, tt.body); code != tt.want || v["message"] == nil {
			t.Errorf("%s = %d %v, want %d with a message", tt.name, code, v, tt.want)
		}
	}
	if at, _, _ := tr.LastSeen("C-1"); !at.Equal(seenBefore) {
		t.Errorf("a refused batch moved C-1's last-seen from %v to %v", seenBefore, at)
	}
}

func TestMaintenanceAPI(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	withFleet(t, e, web.Config{RequireTOTP: true})
	ctx := context.Background()
	post := func(role qorgau.Role, body string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/maintenance", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(e.session(role))
		return send(t, req)
	}
	from := e.now.Add(time.Hour).UTC().Format(time.RFC3339)
	to := e.now.Add(3 * time.Hour).UTC().Format(time.RFC3339)
	code, v := post(qorgau.RoleLiaison, fmt.Sprintf(`{"device":"T-1","from":%q,"to":%q,"reason":"new screen"}`, from, to))
	if code != http.StatusCreated || v["facility"] != "EC-166-1" || v["declared_by"] != "u-liaison" {
		t.Fatalf("declare = %d %v", code, v)
	}
	if acts := e.auditActions("u-liaison"); len(acts) == 0 || acts[len(acts)-1] != qorgau.AuditMaintenanceDeclared {
		t.Errorf("audit of the liaison = %v, want maintenance.declared last", acts)
	}
	past := e.now.Add(-time.Hour).UTC().Format(time.RFC3339)
	for _, tt := range []struct {
		name string
		role qorgau.Role
		body string
		want int
	}{
		{"another facility", qorgau.RoleLiaison, fmt.Sprintf(`{"facility":"EC-166-2","from":%q,"to":%q,"reason":"x"}`, from, to), http.StatusForbidden},
		{"a device of another facility", qorgau.RoleLiaison, fmt.Sprintf(`{"device":"C-2","from":%q,"to":%q,"reason":"x"}`, from, to), http.StatusBadRequest},
		{"in the past", qorgau.RoleLiaison, fmt.Sprintf(`{"from":%q,"to":%q,"reason":"x"}`, past, to), http.StatusBadRequest},
		{"no reason", qorgau.RoleLiaison, fmt.Sprintf(`{"from":%q,"to":%q,"reason":"  "}`, from, to), http.StatusBadRequest},
		{"bad JSON", qorgau.RoleLiaison, `{"from":`, http.StatusBadRequest},
		{"not a liaison", qorgau.RoleNPM, fmt.Sprintf(`{"from":%q,"to":%q,"reason":"x"}`, from, to), http.StatusForbidden},
	} {
		if code, v := post(tt.role, tt.body); code != tt.want {
			t.Errorf("%s = %d %v, want %d", tt.name, code, v, tt.want)
		}
	}
	ws, _ := e.db.MaintenanceWindows(ctx, "", e.now.Add(-24*time.Hour), e.now.Add(24*time.Hour))
	if len(ws) != 1 {
		t.Errorf("%d windows stored, want only the good one", len(ws))
	}
}

// TestFleetPages causes an outage and reads it back from every page, as
// each role sees them.
func TestFleetPages(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	tr := withFleet(t, e, web.Config{RequireTOTP: true})
	ctx := context.Background()
	token := e.addSource(t, qorgau.CameraSource{Name: "poller"})
	body, _ := json.Marshal(map[string]any{"heartbeats": []qorgau.DeviceBeat{{Device: "C-1", Time: e.now, OK: true}, {Device: "C-2", Time: e.now, OK: true}}})
	e.postBatch(t, token, body)
	start := e.now
	// Only C-2 keeps beating; C-1 and the silent terminal go down.
	for range 13 {
		e.now = e.now.Add(10 * time.Second)
		body, _ := json.Marshal(map[string]any{"heartbeats": []qorgau.DeviceBeat{{Device: "C-2", Time: e.now, OK: true}}})
		e.postBatch(t, token, body)
		must(t, tr.Sweep(ctx))
	}
	if _, down, _ := tr.LastSeen("C-1"); !down {
		t.Fatal("C-1 not down after 2 minutes of silence")
	}

	resp, page := e.do(e.client(), "GET", "/fleet", nil, e.session(qorgau.RoleNPM))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="f-EC-166-1"`) || !strings.Contains(page, `id="f-EC-166-2"`) || !strings.Contains(page, "/static/fleet.js") {
		t.Errorf("GET /fleet as npm = %d, missing a facility row or the live script", resp.StatusCode)
	}
	_, page = e.do(e.client(), "GET", "/fleet", nil, e.session(qorgau.RoleLiaison))
	if !strings.Contains(page, `id="f-EC-166-1"`) || strings.Contains(page, "EC-166-2") {
		t.Error("the liaison's fleet page does not show exactly its own facility")
	}

	resp, page = e.do(e.client(), "GET", "/fleet/facility/EC-166-1", nil, e.session(qorgau.RoleMember))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<svg") || !strings.Contains(page, "C-1") || !strings.Contains(page, "T-1") {
		t.Errorf("facility timeline = %d, want an SVG line for C-1 and T-1", resp.StatusCode)
	}
	if resp, _ := e.do(e.client(), "GET", "/fleet/facility/EC-166-2", nil, e.session(qorgau.RoleLiaison)); resp.StatusCode != http.StatusForbidden {
		t.Errorf("another facility's timeline as liaison = %d, want 403", resp.StatusCode)
	}
	if resp, _ := e.do(e.client(), "GET", "/fleet/facility/EC-166-1?from=yesterday", nil, e.session(qorgau.RoleAdmin)); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad from = %d, want 400", resp.StatusCode)
	}

	resp, page = e.do(e.client(), "GET", "/fleet/availability", nil, e.session(qorgau.RoleAdmin))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "EC-166-1") || !strings.Contains(page, "KZ-35") {
		t.Errorf("availability page = %d", resp.StatusCode)
	}
	for _, path := range []string{"/fleet/availability?region=KZ-99", "/fleet/availability.csv?region=KZ-99", "/fleet/availability.pdf?region=KZ-99"} {
		// Not an empty report that looks like a region without devices.
		if resp, body := e.do(e.client(), "GET", path, nil, e.session(qorgau.RoleAdmin)); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "KZ-99") {
			t.Errorf("%s = %d, want 400 naming the unknown region", path, resp.StatusCode)
		}
	}
	if resp, _ := e.do(e.client(), "GET", "/fleet/availability?region=KZ-35", nil, e.session(qorgau.RoleAdmin)); resp.StatusCode != http.StatusOK {
		t.Errorf("availability of KZ-35 = %d, want 200", resp.StatusCode)
	}
	day := start.In(tr.Location()).Format(time.DateOnly)
	resp, csvText := e.do(e.client(), "GET", "/fleet/availability.csv?from="+day+"&to="+day, nil, e.session(qorgau.RoleAdmin))
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("availability.csv = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(csvText), "\n") {
		f := strings.Split(l, ",")
		lines[f[0]+"/"+f[1]] = l
	}
	if !strings.HasPrefix(lines["device/C-1"], "device,C-1,KZ-35,EC-166-1,1,1,") || lines["device/C-2"] != "" {
		t.Errorf("CSV device lines: C-1 %q, C-2 %q; want one outage of C-1 and no line for C-2", lines["device/C-1"], lines["device/C-2"])
	}
	// Required time runs from when the watch began (the tracker's start,
	// after the local midnight of that day) to now: the rest of the day has
	// not happened yet, and before the watch nothing is known.
	ls := start.In(tr.Location())
	midnight := time.Date(ls.Year(), ls.Month(), ls.Day(), 0, 0, 0, 0, tr.Location())
	watched := start
	if midnight.After(watched) {
		watched = midnight
	}
	want := fmt.Sprintf("facility,EC-166-2,KZ-35,EC-166-2,1,0,%.2f,0.00,0.00,100.00", min(e.now.Sub(watched), 24*time.Hour).Hours())
	if lines["facility/EC-166-2"] != want {
		t.Errorf("CSV line of EC-166-2 = %q, want %q: all its required time so far available", lines["facility/EC-166-2"], want)
	}
	_, csvText = e.do(e.client(), "GET", "/fleet/availability.csv", nil, e.session(qorgau.RoleLiaison))
	if strings.Contains(csvText, "EC-166-2") || strings.Contains(csvText, "\nregion,") {
		t.Errorf("the liaison's CSV shows more than its facility:\n%s", csvText)
	}
}

func TestFleetEvents(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	withFleet(t, e, web.Config{RequireTOTP: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.ts.URL+"/fleet/events", nil)
	req.AddCookie(e.session(qorgau.RoleLiaison))
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /fleet/events = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	var event, data string
	for sc.Scan() && (event == "" || data == "") {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			event = v
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok {
			data = v
		}
	}
	var rows []fleet.Counts
	if err := json.Unmarshal([]byte(data), &rows); err != nil || event != "counts" {
		t.Fatalf("first event %q %q: %v", event, data, err)
	}
	if len(rows) != 1 || rows[0].Facility != "EC-166-1" || rows[0].TerminalsUp != 1 || rows[0].CamerasUp != 1 {
		t.Errorf("the liaison's live counts = %+v, want its own facility: 1 terminal and 1 camera up", rows)
	}
}

// TestFleetWatchOff: without a tracker the fleet routes say so with 404.
func TestFleetWatchOff(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	if resp, _ := e.do(e.client(), "GET", "/fleet", nil, e.session(qorgau.RoleAdmin)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /fleet without a tracker = %d, want 404", resp.StatusCode)
	}
}

func TestAvailabilityPDF(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	withFleet(t, e, web.Config{RequireTOTP: true})
	resp, body := e.do(e.client(), "GET", "/fleet/availability.pdf", nil, e.session(qorgau.RoleNPM))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" ||
		!strings.HasPrefix(body, "%PDF-") || !strings.Contains(body, "%%EOF") || len(body) < 2000 {
		t.Fatalf("availability.pdf = %d %s, %d bytes starting %.8q", resp.StatusCode, resp.Header.Get("Content-Type"), len(body), body)
	}
	if resp, body := e.do(e.client(), "GET", "/fleet/availability.pdf", nil, e.session(qorgau.RoleLiaison)); resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "%PDF-") {
		t.Errorf("availability.pdf as liaison = %d", resp.StatusCode)
	}
	withFleet(t, e, web.Config{RequireTOTP: true, PDFFont: "/nonexistent/font.ttf"})
	if resp, _ := e.do(e.client(), "GET", "/fleet/availability.pdf", nil, e.session(qorgau.RoleNPM)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("availability.pdf without its font = %d, want 404 saying which font", resp.StatusCode)
	}
}

// TestMaintenanceForm declares maintenance from the facility's fleet page,
// as a liaison does without a program.
func TestMaintenanceForm(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	withFleet(t, e, web.Config{RequireTOTP: true})
	ctx := context.Background()
	liaison := e.session(qorgau.RoleLiaison)
	_, page := e.do(e.client(), "GET", "/fleet/facility/EC-166-1", nil, liaison)
	if !strings.Contains(page, `action="/fleet/facility/EC-166-1/maintenance"`) || !strings.Contains(page, `<option value="T-1">`) {
		t.Fatalf("the liaison's fleet page has no maintenance form with the terminals")
	}
	if _, page := e.do(e.client(), "GET", "/fleet/facility/EC-166-1", nil, e.session(qorgau.RoleNPM)); strings.Contains(page, `/maintenance"`) {
		t.Errorf("the NPM's view of the page offers to declare maintenance")
	}
	from := e.now.Add(2 * time.Hour).UTC().Truncate(time.Minute)
	to := from.Add(90 * time.Minute)
	form := url.Values{"from": {from.Format("2006-01-02T15:04")}, "to": {to.Format("2006-01-02T15:04")}, "device": {"T-1"}, "reason": {"replacing the touch screen"}}
	resp, _ := e.do(e.client(), "POST", "/fleet/facility/EC-166-1/maintenance", form, liaison)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/fleet/facility/EC-166-1#maint" {
		t.Fatalf("declare by form = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	ws, err := e.db.MaintenanceWindows(ctx, "EC-166-1", e.now, e.now.Add(24*time.Hour))
	must(t, err)
	if len(ws) != 1 || !ws[0].From.Equal(from) || !ws[0].To.Equal(to) || ws[0].Device != "T-1" || ws[0].Reason != "replacing the touch screen" {
		t.Fatalf("stored windows = %+v", ws)
	}
	for _, tt := range []struct {
		name, path string
		form       url.Values
		want       int
	}{
		{"another facility", "/fleet/facility/EC-166-2/maintenance", form, http.StatusForbidden},
		{"a time that is not one", "/fleet/facility/EC-166-1/maintenance", url.Values{"from": {"tomorrow"}, "to": {form.Get("to")}, "reason": {"x"}}, http.StatusBadRequest},
		{"no reason", "/fleet/facility/EC-166-1/maintenance", url.Values{"from": form["from"], "to": form["to"], "reason": {" "}}, http.StatusBadRequest},
	} {
		if resp, _ := e.do(e.client(), "POST", tt.path, tt.form, liaison); resp.StatusCode != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, resp.StatusCode, tt.want)
		}
	}
	if ws, _ := e.db.MaintenanceWindows(ctx, "", e.now, e.now.Add(24*time.Hour)); len(ws) != 1 {
		t.Errorf("%d windows after refused forms, want 1", len(ws))
	}
}

// TestFleetEventsEndWithSession checks that a live stream ends once its
// session does: it used to be checked only when the stream opened, so a
// member signed out or disabled kept receiving live counts for as long as
// the page stayed open.
func TestFleetEventsEndWithSession(t *testing.T) {
	defer web.SetFleetEventsRecheck(1)()
	e := newEnv(t, web.Config{RequireTOTP: true})
	withFleet(t, e, web.Config{RequireTOTP: true})
	for _, end := range []string{"sign-out", "disabled"} {
		t.Run(end, func(t *testing.T) {
			cookie := e.session(qorgau.RoleNPM)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", e.ts.URL+"/fleet/events", nil)
			req.AddCookie(cookie)
			resp, err := http.DefaultClient.Do(req)
			must(t, err)
			defer resp.Body.Close()
			events := make(chan string, 16)
			go func() {
				defer close(events)
				sc := bufio.NewScanner(resp.Body)
				for sc.Scan() {
					if v, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
						events <- v
					}
				}
			}()
			if ev := <-events; ev != "counts" {
				t.Fatalf("first event %q, want counts", ev)
			}
			switch end {
			case "sign-out":
				if resp, _ := e.do(e.client(), "POST", "/logout", url.Values{}, cookie); resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("sign-out = %d", resp.StatusCode)
				}
			case "disabled":
				// Its sessions are kept, so that the disabled check is what ends the stream.
				u, err := e.db.UserByName(context.Background(), "u-npm")
				must(t, err)
				u.Disabled = true
				must(t, e.db.UpdateUser(context.Background(), u, false, &qorgau.AuditRecord{Actor: "test", Action: qorgau.AuditUserDisabled, Target: u.Name}))
			}
			var last string
			for ev := range events {
				last = ev
			}
			if last != "ended" || ctx.Err() != nil {
				t.Errorf("after the %s the stream's last event was %q (%v), want it to end with \"ended\"", end, last, ctx.Err())
			}
		})
	}
}
