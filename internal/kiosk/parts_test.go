package kiosk

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"qorgau.kz/qorgau"
)

func TestJournalChainAndTornWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, err := OpenJournal(path, "boot-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []qorgau.JournalKind{qorgau.JournalBoot, qorgau.JournalNetworkLost, qorgau.JournalNetworkBack} {
		if _, err := j.Append(k, "outbox=0"); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	// A power loss in the middle of the next write leaves half a line.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"seq":4,"time":"2026-`)
	f.Close()
	j, err = OpenJournal(path, "boot-2", nil)
	if err != nil {
		t.Fatalf("reopening after a torn write: %v", err)
	}
	if j.Last().Seq != 3 {
		t.Fatalf("last entry %d after a torn write, want 3", j.Last().Seq)
	}
	e, err := j.Append(qorgau.JournalBoot, "")
	if err != nil || e.Seq != 4 || e.Boot != "boot-2" {
		t.Fatalf("append after the cut = %+v, %v", e, err)
	}
	all, err := j.After(0, 100)
	if err != nil || len(all) != 4 {
		t.Fatalf("After(0) = %d entries, %v", len(all), err)
	}
	if err := qorgau.CheckJournal(0, qorgau.JournalGenesis, all); err != nil {
		t.Errorf("the chain does not verify: %v", err)
	}
	if tail, _ := j.After(2, 100); len(tail) != 2 || tail[0].Seq != 3 {
		t.Errorf("After(2) = %+v", tail)
	}
	j.Close()

	// An entry edited in the middle is refused, not silently cut.
	b, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(b, []byte("network_lost"), []byte("network_restored"), 1), 0o600)
	if _, err := OpenJournal(path, "boot-3", nil); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("an edited journal opened: %v", err)
	}
}

func TestOutboxOrderAndDurability(t *testing.T) {
	dir := t.TempDir()
	o, err := OpenOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, id := range []string{"c", "a", "b"} {
		n, err := o.Put(&Item{ID: id, Bodies: []string{"NPM"}, Category: qorgau.CategoryMedical, Envelope: []byte("sealed")})
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if _, err := o.Put(&Item{ID: "../escape"}); err == nil {
		t.Error("an id with a path was accepted")
	}
	got, _ := o.List()
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("List = %v, want the order of Put %v", got, names)
	}
	if err := o.Done(names[0]); err != nil {
		t.Fatal(err)
	}
	if err := o.Reject(names[1]); err != nil {
		t.Fatal(err)
	}
	o2, err := OpenOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	if o2.Len() != 1 {
		t.Errorf("reopened outbox holds %d, want 1", o2.Len())
	}
	it, err := o2.Load(names[2])
	if err != nil || it.ID != "b" || string(it.Envelope) != "sealed" {
		t.Errorf("Load = %+v, %v", it, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "rejected", names[1])); err != nil {
		t.Errorf("the rejected item is not kept: %v", err)
	}
	n, _ := o2.Put(&Item{ID: "d", Envelope: []byte("x")})
	if n <= names[2] {
		t.Errorf("a new item %s sorts before an older one %s", n, names[2])
	}
}

func TestReceiptTicket(t *testing.T) {
	got := ReceiptTicket("1234567890123456")
	want := []byte("\x1b@\x1ba\x01\x1d!\x111234 5678 9012 3456\n\x1d!\x00\x1bd\x04\x1dV\x01")
	if !bytes.Equal(got, want) {
		t.Errorf("ticket = %q, want %q", got, want)
	}
	path := filepath.Join(t.TempDir(), "lp0")
	if err := PrintReceipt(path, "1234567890123456"); err == nil {
		t.Error("printing to a missing device created a file")
	}
	os.WriteFile(path, nil, 0o600)
	if err := PrintReceipt(path, "1234567890123456"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, want) {
		t.Errorf("device got %q", b)
	}
}

func TestIncidentWindow(t *testing.T) {
	loc := time.FixedZone("UTC+5", 5*3600)
	now := time.Date(2026, 3, 10, 9, 30, 0, 0, loc) // Tuesday morning
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, loc)
	tests := []struct {
		when, part string
		from, to   time.Time
	}{
		{"", "", time.Time{}, time.Time{}},
		{"today", "", day, now},
		{"today", "morning", day.Add(6 * time.Hour), now},
		{"today", "evening", day.Add(18 * time.Hour), day.Add(18 * time.Hour)},
		{"yesterday", "", day.AddDate(0, 0, -1), day},
		{"yesterday", "night", day.AddDate(0, 0, -1), day.AddDate(0, 0, -1).Add(6 * time.Hour)},
		{"yesterday", "day", day.AddDate(0, 0, -1).Add(12 * time.Hour), day.AddDate(0, 0, -1).Add(18 * time.Hour)},
		{"week", "day", day.AddDate(0, 0, -7), now},
		{"earlier", "", time.Time{}, day.AddDate(0, 0, -7)},
	}
	for _, tt := range tests {
		from, to, err := IncidentWindow(now, tt.when, tt.part)
		if err != nil || !from.Equal(tt.from) || !to.Equal(tt.to) {
			t.Errorf("IncidentWindow(%q, %q) = %v – %v, %v; want %v – %v", tt.when, tt.part, from, to, err, tt.from, tt.to)
		}
	}
	for _, bad := range [][2]string{{"tomorrow", ""}, {"today", "noon"}} {
		if _, _, err := IncidentWindow(now, bad[0], bad[1]); qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("IncidentWindow(%q, %q) = %v, want EINVALID", bad[0], bad[1], err)
		}
	}
}

func TestBackoff(t *testing.T) {
	lo, hi := 500*time.Millisecond, 60*time.Second
	for n := 1; n <= 40; n++ {
		want := min(hi, lo<<min(n-1, 20))
		for range 50 {
			d := backoff(lo, hi, n)
			if d < want/2 || d > want {
				t.Fatalf("backoff after %d failures = %v, want %v..%v", n, d, want/2, want)
			}
		}
	}
}

// TestBeatURL: a terminal sends heartbeats to the listener its server
// names only if the URL is usable, and never from HTTPS down to HTTP.
func TestBeatURL(t *testing.T) {
	for _, c := range []struct{ server, named, want string }{
		{"http://10.0.0.1:8080", "http://10.0.0.1:8081/api/terminal/v1/heartbeat/beat", "http://10.0.0.1:8081/api/terminal/v1/heartbeat/beat"},
		{"https://q.example.kz", "https://q.example.kz:8443/api/terminal/v1/heartbeat/beat", "https://q.example.kz:8443/api/terminal/v1/heartbeat/beat"},
		{"http://10.0.0.1:8080", "https://q.example.kz:8443/b", "https://q.example.kz:8443/b"},
		{"https://q.example.kz", "http://q.example.kz:8081/b", ""},
		{"http://10.0.0.1:8080", "ftp://q.example.kz/b", ""},
		{"http://10.0.0.1:8080", "/api/terminal/v1/heartbeat/beat", ""},
		{"http://10.0.0.1:8080", "http://[::1", ""},
		{"http://10.0.0.1:8080", "", ""},
	} {
		c2 := &Client{Server: c.server}
		if got := c2.beatURL(c.named); got != c.want {
			t.Errorf("server %s naming %q: beatURL = %q, want %q", c.server, c.named, got, c.want)
		}
	}
}
