package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFleetWatchEndToEnd adds a camera source on the command line, reports
// a camera through the running server's batch API, and sees the sweeper
// open an outage when the camera falls silent; a revoked token is refused.
func TestFleetWatchEndToEnd(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, f := range []struct{ kind, content string }{
		{"facilities", "code,name,region,type,authority,capacity,population\nSIZO-35,SIZO 1,KZ-35,pretrial,KUIS,600,540\nEC-1,Colony 1,KZ-35,colony-medium,KUIS,900,800\n"},
		{"devices", "id,kind,facility,zone,interval_seconds,required_hours\nC-1,camera,SIZO-35,,1,24/7\nC-2,camera,EC-1,,3600,24/7\n"},
	} {
		if stdout, stderr, code := runQ(t, nil, "admin", "import", f.kind, write(f.kind+".csv", f.content), "-data", dir); code != 0 {
			t.Fatalf("import %s = %d %s %s", f.kind, code, stdout, stderr)
		}
	}
	stdout, stderr, code := runQ(t, nil, "admin", "source", "add", "--name", "vms-35", "--facility", "SIZO-35", "-data", dir)
	m := regexp.MustCompile(`shown only now:\n(\S{43})\n$`).FindStringSubmatch(stdout)
	if code != 0 || m == nil {
		t.Fatalf("source add = %d %q %q", code, stdout, stderr)
	}
	token := m[1]
	if _, stderr, code := runQ(t, nil, "admin", "source", "add", "--name", "vms-35", "-data", dir); code != 1 || !strings.Contains(stderr, "exists") {
		t.Errorf("adding the same name again = %d %q", code, stderr)
	}
	if stdout, _, _ := runQ(t, nil, "admin", "source", "list", "-data", dir); !regexp.MustCompile(`vms-35\s+facility SIZO-35\s+\S+ \S+\s+active`).MatchString(stdout) {
		t.Errorf("source list:\n%s", stdout)
	}

	base, _, logs := startServer(t, []string{"QORGAU_SWEEP_EVERY=100ms"}, "serve", "-data", dir, "-debug")
	post := func(token string) (int, map[string]any) {
		now := time.Now().UTC().Format(time.RFC3339Nano)
		body := fmt.Sprintf(`{"heartbeats":[{"device":"C-1","time":%q,"ok":true},{"device":"C-2","time":%q,"ok":true}]}`, now, now)
		req, _ := http.NewRequest("POST", base+"/api/v1/devices/heartbeats", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	code, v := post(token)
	if code != 200 || v["accepted"] != float64(1) || len(v["rejected"].([]any)) != 1 {
		t.Fatalf("batch = %d %v, want C-1 taken and C-2 (another facility) rejected", code, v)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "outages opened") {
		if time.Now().After(deadline) {
			t.Fatalf("no outage opened 10 s after a 1 s camera fell silent:\n%s", logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, stderr, code := runQ(t, nil, "admin", "source", "revoke", "--name", "vms-35", "-data", dir); code != 0 {
		t.Fatalf("source revoke = %d %s", code, stderr)
	}
	if code, _ := post(token); code != http.StatusUnauthorized {
		t.Errorf("batch with a revoked token = %d, want 401", code)
	}
}

// TestFleetEventsShutdown: an open live fleet page, whose event stream
// runs until the browser leaves, does not hold up a graceful stop. serve
// ends the stream when it shuts down, so it exits at once instead of
// waiting out its 10 s deadline and cutting off whatever else runs.
func TestFleetEventsShutdown(t *testing.T) {
	w := newWorld(t, 1)
	srv := startServe(t, w.dir)
	admin := consoleLogin(t, w, srv.base(), "admin")
	resp, err := admin.Get(srv.base() + "/fleet/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if line, _ := bufio.NewReader(resp.Body).ReadString('\n'); resp.StatusCode != http.StatusOK || line != "event: counts\n" {
		t.Fatalf("GET /fleet/events = %d, first line %q", resp.StatusCode, line)
	}
	start := time.Now()
	srv.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-srv.done:
	case <-time.After(8 * time.Second):
		t.Fatalf("serve still running %s after SIGTERM with a fleet stream open", time.Since(start).Round(time.Second))
	}
	if strings.Contains(srv.logs.String(), "cut off") {
		t.Errorf("serve cut requests off on a graceful stop:\n%s", srv.logs)
	}
}
