package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"qorgau.kz/qorgau/internal/pgtest"
)

// bin is the qorgau binary built once for the tests in this file, which run
// it as a person would.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "qorgau-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "qorgau")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build qorgau: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	pgtest.StopShared()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runQ runs the binary to completion and returns its output and exit code.
func runQ(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run qorgau %v: %v", args, err)
	}
	return o.String(), e.String(), code
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServer starts `qorgau args…` in the background and waits until
// /healthz answers. It returns the base URL and the running command.
func startServer(t *testing.T, env []string, args ...string) (string, *exec.Cmd, *bytes.Buffer) {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, append(args, "-addr", addr)...)
	cmd.Env = append(os.Environ(), env...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	base := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			return base, cmd, &logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServe runs `qorgau serve` on SQLite and on PostgreSQL, checks the
// health, readiness and metrics endpoints, and stops it with SIGTERM.
func TestServe(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			args := []string{"serve", "-data", t.TempDir(), "-beat-addr", "127.0.0.1:0"}
			if engine == "postgres" {
				args = append(args, "-db", pgtest.NewDatabase(t))
			}
			base, cmd, logs := startServer(t, nil, args...)
			// The heartbeat listener takes only heartbeats.
			if m := regexp.MustCompile(`"msg":"heartbeat listener".*"url":"(http://127\.0\.0\.1:\d+/api/terminal/v1/heartbeat/beat)"`).FindStringSubmatch(logs.String()); m == nil {
				t.Errorf("serve -beat-addr logged no listener URL:\n%s", logs)
			} else if code, body := get(t, m[1]); code != http.StatusMethodNotAllowed || !strings.Contains(body, `"message"`) {
				t.Errorf("GET on the heartbeat listener = %d %q, want 405 with a JSON message", code, body)
			}
			if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
				t.Errorf("/healthz = %d %q", code, body)
			}
			if code, body := get(t, base+"/readyz"); code != 200 || body != "ready\n" {
				t.Errorf("/readyz = %d %q", code, body)
			}
			code, body := get(t, base+"/metrics")
			if code != 200 || !strings.Contains(body, "qorgau_http_requests_total") || !strings.Contains(body, "go_sql_open_connections") {
				t.Errorf("/metrics = %d, lacks request counts or pool figures", code)
			}
			if code, _ := get(t, base+"/login"); code != 200 {
				t.Errorf("/login = %d", code)
			}
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve after SIGTERM exited with %v, want 0\n%s", err, logs)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("serve did not stop within 15 s of SIGTERM")
			}
			out := logs.String()
			for _, want := range []string{`"msg":"applied migration"`, `"engine":"` + engine + `"`, `"msg":"shutting down"`} {
				if !strings.Contains(out, want) {
					t.Errorf("serve log lacks %s:\n%s", want, out)
				}
			}
		})
	}
}

// TestEnvironmentFallback checks that QORGAU_* variables stand in for flags
// and that a flag on the command line wins.
func TestEnvironmentFallback(t *testing.T) {
	dir := t.TempDir()
	_, stderr, code := runQ(t, []string{"QORGAU_DATA=" + dir}, "admin", "user", "add", "--name", "aliya", "--role", "auditor")
	if code != 0 {
		t.Fatalf("user add with QORGAU_DATA = %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "qorgau.db")); err != nil {
		t.Errorf("QORGAU_DATA was not used: %v", err)
	}
	other := t.TempDir()
	runQ(t, []string{"QORGAU_DATA=" + dir}, "admin", "user", "add", "--name", "bolat", "--role", "auditor", "-data", other)
	stdout, _, _ := runQ(t, nil, "admin", "user", "list", "-data", other)
	if !strings.Contains(stdout, "bolat") || strings.Contains(stdout, "aliya") {
		t.Errorf("-data on the command line did not win over QORGAU_DATA:\n%s", stdout)
	}
	_, stderr, code = runQ(t, []string{"QORGAU_IDLE_TIMEOUT=soon"}, "serve", "-data", dir)
	if code != 2 || !strings.Contains(stderr, "QORGAU_IDLE_TIMEOUT") {
		t.Errorf("bad QORGAU_IDLE_TIMEOUT = exit %d %q, want 2 naming the variable", code, stderr)
	}
}

func TestHelpAndUsage(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"serve", "-h"}, {"demo", "-h"}, {"admin", "help"}, {"admin", "import", "-h"}, {"version"}} {
		stdout, stderr, code := runQ(t, nil, args...)
		if code != 0 || stdout+stderr == "" {
			t.Errorf("qorgau %v = exit %d, want 0 with help text", args, code)
		}
	}
	for _, args := range [][]string{{}, {"frobnicate"}, {"serve", "-nope"}, {"serve", "-beat-addr", "0.0.0.0:8081"},
		{"serve", "-beat-url", "http://q.example.kz:8081"}, {"serve", "-beat-addr", ":8081", "-beat-url", "q.example.kz"}, {"admin", "user"}, {"admin", "import", "toasters", "x.csv"}} {
		_, stderr, code := runQ(t, nil, args...)
		if code != 2 || !strings.Contains(stderr, "qorgau:") {
			t.Errorf("qorgau %v = exit %d %q, want 2 with a message", args, code, stderr)
		}
	}
}

// TestAdminUsersAndAudit adds users, checks the one-time password is
// printed, and checks that `admin audit verify` finds a tampered record.
func TestAdminUsersAndAudit(t *testing.T) {
	dir := t.TempDir()
	stdout, stderr, code := runQ(t, nil, "admin", "user", "add", "-data", dir, "--name", "aigerim", "--role", "member", "--body", "NOPE")
	if code != 1 || !strings.Contains(stderr, `no recipient body with code "NOPE"`) {
		t.Errorf("user add with an unknown body = %d %q", code, stderr)
	}
	stdout, stderr, code = runQ(t, nil, "admin", "user", "add", "-data", dir, "--name", "aigerim", "--role", "admin")
	if code != 0 || !regexp.MustCompile(`one-time password: \S{23}`).MatchString(stdout) {
		t.Fatalf("user add = %d %q %q", code, stdout, stderr)
	}
	_, stderr, code = runQ(t, nil, "admin", "user", "add", "-data", dir, "--name", "aigerim", "--role", "admin")
	if code != 1 || !strings.Contains(stderr, "already exists") {
		t.Errorf("user add twice = %d %q", code, stderr)
	}
	runQ(t, nil, "admin", "user", "disable", "-data", dir, "--name", "aigerim")
	stdout, _, _ = runQ(t, nil, "admin", "user", "list", "-data", dir)
	if !strings.Contains(stdout, "disabled") {
		t.Errorf("user list after disable:\n%s", stdout)
	}
	stdout, stderr, code = runQ(t, nil, "admin", "audit", "verify", "-data", dir)
	if code != 0 || !strings.Contains(stdout, "audit log intact: 2 records") {
		t.Fatalf("audit verify = %d %q %q", code, stdout, stderr)
	}

	db, err := sql.Open("sqlite", filepath.Join(dir, "qorgau.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{`DROP TRIGGER audit_log_no_update`, `UPDATE audit_log SET detail = 'role=auditor' WHERE seq = 1`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	_, stderr, code = runQ(t, nil, "admin", "audit", "verify", "-data", dir)
	if code != 1 || !strings.Contains(stderr, "record 1") {
		t.Errorf("audit verify after tampering = %d %q, want exit 1 naming record 1", code, stderr)
	}
}

// TestAdminImportExport imports a registry from CSV files, refuses a file
// with bad rows without changing anything, and round-trips an export.
func TestAdminImportExport(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fac := write("facilities.csv", "code,name,region,type,authority,capacity,population\n"+
		"EC-166-1,Учреждение ЕЦ-166/1,KZ-35,colony-medium,КУИС МВД РК,1200,980\n"+
		"SIZO-35,СИЗО-1,KZ-35,pretrial,КУИС МВД РК,600,540\n")
	zones := write("zones.csv", "kind,name,code,facility\ncell-block,Отряд 1,B1,EC-166-1\ncorridor,Коридор,C1,SIZO-35\n")
	devices := write("devices.csv", "id,kind,facility,zone,interval_seconds,required_hours\n"+
		"T-1,terminal,EC-166-1,B1,60,08:00-20:00\nC-1,camera,SIZO-35,C1,30,24/7\n")
	for _, f := range []struct{ kind, path string }{{"facilities", fac}, {"zones", zones}, {"devices", devices}} {
		stdout, stderr, code := runQ(t, nil, "admin", "import", f.kind, f.path, "-data", dir)
		if code != 0 || !strings.Contains(stdout, "2 new") {
			t.Fatalf("import %s = %d %q %q", f.kind, code, stdout, stderr)
		}
	}
	stdout, _, _ := runQ(t, nil, "admin", "import", "devices", devices, "-data", dir)
	if !strings.Contains(stdout, "0 new, 0 changed, 2 unchanged") {
		t.Errorf("re-import = %q, want a no-op", stdout)
	}
	bad := write("bad.csv", "id,kind,facility,zone,interval_seconds,required_hours\n"+
		"T-2,terminal,EC-166-1,B1,60,24/7\n"+
		"C-2,cam,EC-166-1,B1,30,24/7\n"+
		"C-3,camera,NOPE,B1,30,24/7\n"+
		"C-4,camera,EC-166-1,B1,thirty,24/7\n")
	_, stderr, code := runQ(t, nil, "admin", "import", "devices", bad, "-data", dir)
	if code != 1 {
		t.Errorf("import of a bad file = exit %d, want 1", code)
	}
	for _, want := range []string{"line 3, column kind", "line 4, column facility", "line 5, column interval_seconds", "nothing was changed"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("import of a bad file does not say %q:\n%s", want, stderr)
		}
	}
	stdout, _, _ = runQ(t, nil, "admin", "export", "devices", "-data", dir)
	sc := bufio.NewScanner(strings.NewReader(stdout))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != 3 || lines[0] != "id,kind,facility,zone,interval_seconds,required_hours" || strings.Contains(stdout, "T-2") {
		t.Errorf("export after a refused import:\n%s", stdout)
	}

	stdout, stderr, code = runQ(t, nil, "admin", "terminal", "enroll", "--device", "T-1", "-data", dir)
	if code != 0 || !regexp.MustCompile(`works once\):\n\S{43}\n$`).MatchString(stdout) {
		t.Errorf("terminal enroll = %d %q %q", code, stdout, stderr)
	}
	_, stderr, code = runQ(t, nil, "admin", "terminal", "enroll", "--device", "C-1", "-data", dir)
	if code != 1 || !strings.Contains(stderr, "not a terminal") {
		t.Errorf("terminal enroll of a camera = %d %q", code, stderr)
	}
}

func TestAdminHolidays(t *testing.T) {
	dir := t.TempDir()
	write := func(content string) string {
		p := filepath.Join(dir, "h.csv")
		os.WriteFile(p, []byte(content), 0o600)
		return p
	}
	_, stderr, code := runQ(t, nil, "admin", "holidays", "import", write("date,name,working\n2026-05-27,Kurban Ait,0\n2026-13-01,bad,0\n2026-11-24,moved,1\n2026-05-27,again,0\n"), "-data", dir)
	for _, want := range []string{"line 3, column date", "line 4, column working: 2026-11-24 is a Tuesday", "line 5, column date: 2026-05-27 is already on line 2", "nothing was changed"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("bad holidays file: stderr lacks %q:\n%s", want, stderr)
		}
	}
	if code != 1 {
		t.Errorf("bad holidays file = exit %d, want 1", code)
	}
	stdout, stderr, code := runQ(t, nil, "admin", "holidays", "import", write("date,name,working\n2026-05-27,Kurban Ait,\n2026-11-28,working Saturday,1\n"), "-data", dir)
	if code != 0 || !strings.Contains(stdout, "imported 2 days") {
		t.Fatalf("holidays import = %d %q %q", code, stdout, stderr)
	}
	stdout, _, _ = runQ(t, nil, "admin", "holidays", "list", "-data", dir)
	if !strings.Contains(stdout, "2026-05-27  day off") || !strings.Contains(stdout, "2026-11-28  working day") {
		t.Errorf("holidays list:\n%s", stdout)
	}
}
