package kiosk

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
)

// TestReadAnswer reads answers with and without a Content-Length, which
// readAnswer reads in different ways, and checks that the connection is
// kept for the next request: reading exactly the announced length must
// still let net/http see the body's end.
func TestReadAnswer(t *testing.T) {
	big := bytes.Repeat([]byte("receipt "), 4096)
	tests := []struct {
		name    string
		body    []byte
		chunked bool
	}{
		{"empty", nil, false},
		{"small with length", []byte(`{"complaint":1}`), false},
		{"large with length", big, false},
		{"chunked", big, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !tt.chunked {
					w.Header().Set("Content-Length", strconv.Itoa(len(tt.body)))
				}
				w.Write(tt.body[:len(tt.body)/2])
				w.(http.Flusher).Flush()
				w.Write(tt.body[len(tt.body)/2:])
			}))
			var conns atomic.Int64
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()
			for range 3 {
				req, _ := http.NewRequest("GET", srv.URL, nil)
				var got []byte
				if err := roundTrip(srv.Client(), req, &got); err != nil {
					t.Fatalf("roundTrip = %v", err)
				}
				if !bytes.Equal(got, tt.body) {
					t.Errorf("roundTrip read %d bytes, want the %d sent", len(got), len(tt.body))
				}
			}
			if n := conns.Load(); n != 1 {
				t.Errorf("3 requests took %d connections, want 1", n)
			}
		})
	}
}
