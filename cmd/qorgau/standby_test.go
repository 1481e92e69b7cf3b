package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
	"qorgau.kz/qorgau/internal/kiosk"
)

// lastHeader is an HTTP transport that keeps the headers of the last
// answer, which the kiosk's client does not hand back.
type lastHeader struct {
	mu sync.Mutex
	h  http.Header
}

func (l *lastHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		l.mu.Lock()
		l.h = resp.Header.Clone()
		l.mu.Unlock()
	}
	return resp, err
}

func (l *lastHeader) get(key string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.h.Get(key)
}

// TestTwoServers runs two `qorgau serve` on one PostgreSQL database, as
// a load balancer sees them: the first is the complaint log's sequencer
// and ready; the second is a standby, answers /readyz with 503 and a
// terminal's heartbeat with 503 and Retry-After. When the first dies, the
// second takes the log and the fleet watch over, is ready, and takes the
// terminal's heartbeats.
func TestTwoServers(t *testing.T) {
	ctx := context.Background()
	db, _, dbArgs := migratedDB(t, "postgres")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.SaveFacilities(ctx, []qorgau.Facility{{Code: "EC-166-1", Name: "Colony 1", Region: "KZ-35",
		Type: qorgau.ColonyMedium, Authority: "KUIS", Capacity: 1000, Population: 900}}, nil))
	must(db.SaveDevices(ctx, []qorgau.Device{{ID: "T-1", Kind: qorgau.DeviceTerminal, Facility: "EC-166-1", Interval: 60}}, nil))
	token, id := auth.NewToken()
	must(db.CreateEnrollmentToken(ctx, id, "T-1", time.Now().Add(time.Hour), nil))

	dirA, dirB := t.TempDir(), t.TempDir()
	a, cmdA, _ := startServer(t, nil, append([]string{"serve", "-data", dirA}, dbArgs...)...)
	ready := func(base string) func() bool {
		return func() bool { code, _ := get(t, base+"/readyz"); return code == http.StatusOK }
	}
	waitUntil(t, "the first server is ready", 30*time.Second, ready(a))
	// Every server holds a copy of the same keys.
	for _, f := range []string{logKeyFile, directoryKeyFile, replySaltFile} {
		b, err := os.ReadFile(filepath.Join(dirA, f))
		must(err)
		must(os.WriteFile(filepath.Join(dirB, f), b, 0o600))
	}
	b, cmdB, logsB := startServer(t, nil, append([]string{"serve", "-data", dirB}, dbArgs...)...)
	if code, body := get(t, b+"/readyz"); code != http.StatusServiceUnavailable || body != "standby: another server is the complaint log's sequencer\n" {
		t.Errorf("/readyz on the standby = %d %q, want 503 saying it is a standby", code, body)
	}
	if code, body := get(t, a+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz on the leader = %d %q, want 200", code, body)
	}

	_, key, _ := ed25519.GenerateKey(nil)
	if _, err := kiosk.Enroll(ctx, nil, a, token, key); err != nil {
		t.Fatal(err)
	}
	headers := &lastHeader{}
	terminal := func(base string) *kiosk.Client {
		return &kiosk.Client{Server: base, DeviceID: "T-1", Key: key, HTTP: &http.Client{Transport: headers, Timeout: 10 * time.Second}}
	}
	beat := func(base string) error {
		_, err := terminal(base).Heartbeat(ctx, &qorgau.Heartbeat{Boot: "b1", Sent: time.Now().UTC(), Network: qorgau.NetworkUp})
		return err
	}
	var ae *kiosk.APIError
	if err := beat(b); !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable || ae.Code != qorgau.EUNAVAILABLE || headers.get("Retry-After") != "2" {
		t.Errorf("heartbeat to the standby = %v, Retry-After %q; want 503 unavailable, Retry-After 2", err, headers.get("Retry-After"))
	}
	if _, err := terminal(b).OpenBeatSession(ctx, "b1"); !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable {
		t.Errorf("heartbeat session on the standby = %v, want 503", err)
	}
	waitUntil(t, "the leader takes a heartbeat", 10*time.Second, func() bool { return beat(a) == nil })

	// The leader dies; its connections, and so its lock, go with it.
	cmdA.Process.Kill()
	cmdA.Wait()
	waitUntil(t, "the standby is ready", 30*time.Second, ready(b))
	waitUntil(t, "the new leader takes a heartbeat", 10*time.Second, func() bool { return beat(b) == nil })
	if _, err := terminal(b).OpenBeatSession(ctx, "b1"); err != nil {
		t.Errorf("heartbeat session on the new leader = %v", err)
	}

	cmdB.Process.Signal(syscall.SIGTERM)
	cmdB.Wait()
	for _, want := range []string{`"msg":"log: this server is now the sequencer"`, `"msg":"fleet watch: this server watches now`} {
		if !strings.Contains(logsB.String(), want) {
			t.Errorf("the new leader's log lacks %s:\n%s", want, logsB)
		}
	}
}
