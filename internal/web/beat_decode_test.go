package web

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"qorgau.kz/qorgau"
)

// TestDecodeHeartbeat checks that the shortcut decodes exactly what
// encoding/json (with unknown fields refused) decodes, and refuses what it
// refuses.
func TestDecodeHeartbeat(t *testing.T) {
	full, _ := json.Marshal(qorgau.Heartbeat{Boot: "Zq3xk2Lw9TQ", Uptime: 86400, Sent: time.Date(2026, 12, 4, 12, 0, 0, 123456789, time.UTC),
		Outbox: 3, LogSize: 123456, Tamper: true, Network: qorgau.NetworkRestored})
	for _, in := range []string{
		string(full),
		`{}`, ` { } `, `{"boot":"b1"}`, `{"boot":"b1","uptime_seconds":0,"outbox":0,"log_size":0,"tamper":false,"network":"up"}`,
		`{"boot":"b1","network":"sideways"}`, `{"outbox":-1}`, `{"uptime_seconds":-0}`, `{"uptime_seconds":01}`,
		`{"uptime_seconds":1.5}`, `{"uptime_seconds":1e3}`, `{"uptime_seconds":99999999999999999999}`,
		`{"boot":"b\u0031"}`, `{"boot":"é"}`, `{"boot":null}`, `{"boot":"b1","boot":"b2"}`, `{"Boot":"b1"}`,
		`{"colour":"red"}`, `{"boot":"b1"} {}`, `{"boot":"b1",}`, `{"boot":`, `[]`, ``, `{"tamper":tru}`,
		`{"tamper":true}`, `{"tamper":"true"}`, `{"sent":"2026-12-04T12:00:00+05:00"}`, `{"sent":"yesterday"}`,
		`{"sent":"2026-12-04T12:00:00Z","network":"restored"}`, "{\"boot\":\"b1\"}\n", `{"outbox":3}x`,
	} {
		var want qorgau.Heartbeat
		dec := json.NewDecoder(bytes.NewReader([]byte(in)))
		dec.DisallowUnknownFields()
		werr := dec.Decode(&want)
		if werr == nil && dec.More() {
			werr = errTrailing
		}
		var got qorgau.Heartbeat
		gerr := decodeHeartbeat([]byte(in), &got)
		if (gerr != nil) != (werr != nil) {
			t.Errorf("decodeHeartbeat(%s) error = %v, want %v", in, gerr, werr)
			continue
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("decodeHeartbeat(%s) = %+v, want %+v", in, got, want)
		}
	}
	var hb qorgau.Heartbeat
	if !fastHeartbeat(full, &hb) {
		t.Errorf("the agent's own encoding %s does not take the shortcut", full)
	}
}

var errTrailing = qorgau.Errorf(qorgau.EINVALID, "trailing data")

func BenchmarkDecodeHeartbeat(b *testing.B) {
	body, _ := json.Marshal(qorgau.Heartbeat{Boot: "Zq3xk2Lw9TQ", Uptime: 86400, Sent: time.Now().UTC(), LogSize: 123456, Network: qorgau.NetworkUp})
	b.ReportAllocs()
	for range b.N {
		var hb qorgau.Heartbeat
		if err := decodeHeartbeat(body, &hb); err != nil {
			b.Fatal(err)
		}
	}
}
