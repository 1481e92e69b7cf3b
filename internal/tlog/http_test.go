package tlog

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sumtlog "golang.org/x/mod/sumdb/tlog"

	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/store/storetest"
)

func get(t *testing.T, srv *httptest.Server, path string) (*http.Response, []byte) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestServe(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		l := start(t, db, testConfig(t))
		srv := httptest.NewServer(l.Handler())
		defer srv.Close()

		// Batches of uneven sizes, so that partial tiles of many widths
		// were published on the way.
		var records [][]byte
		n := 0
		for _, k := range []int{1, 7, 100, 200, 300, 13} {
			appendN(t, l, n, n+k, 1+k/10)
			n += k
		}
		if l.Size() != 621 {
			t.Fatalf("size %d, want 621", l.Size())
		}
		for i := 0; i < n; i++ {
			r, err := l.Receipt(context.Background(), int64(i))
			if err != nil {
				t.Fatal(err)
			}
			records = append(records, r.Record)
		}

		resp, b := get(t, srv, "/log/checkpoint")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || !bytes.Equal(b, l.Checkpoint()) {
			t.Fatalf("GET /log/checkpoint = %s %q %q", resp.Status, resp.Header.Get("Content-Type"), b)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("checkpoint Cache-Control = %q", cc)
		}
		resp, b = get(t, srv, "/log/key")
		if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != l.VerifierKey() {
			t.Errorf("GET /log/key = %s %q", resp.Status, b)
		}

		// Every tile of the tree, and every partial tile within it, is the
		// hashes the tree has: leaf hashes of the records at level 0.
		hr := l.hashReader(context.Background())
		size := l.Size()
		for _, tile := range sumtlog.NewTiles(8, 0, size) {
			for _, w := range []int{tile.W, 1, tile.W / 2} {
				if w < 1 {
					continue
				}
				tt := tile
				tt.W = w
				path := "/log/" + tileAddr{L: tt.L, N: tt.N, W: tt.W}.String()
				resp, b := get(t, srv, path)
				want, err := sumtlog.ReadTileData(tt, hr)
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != 200 || !bytes.Equal(b, want) {
					t.Errorf("GET %s = %s, %d bytes; want %d bytes", path, resp.Status, len(b), len(want))
				}
				if tt.L == 0 {
					for i := 0; i < w; i++ {
						h := sumtlog.RecordHash(records[int(tt.N)*256+i])
						if !bytes.Equal(b[32*i:32*i+32], h[:]) {
							t.Fatalf("GET %s: hash %d is not the record's", path, i)
						}
					}
				}
				wantCC := "public, max-age=60"
				if w == 256 {
					wantCC = "public, max-age=31536000, immutable"
				}
				if cc := resp.Header.Get("Cache-Control"); cc != wantCC || resp.Header.Get("Content-Type") != "application/octet-stream" {
					t.Errorf("GET %s: Cache-Control %q, Content-Type %q", path, cc, resp.Header.Get("Content-Type"))
				}
			}
		}
		// Entry bundles hold the records.
		for _, c := range []struct {
			path        string
			first, last int
		}{
			{"/log/tile/entries/000", 0, 256},
			{"/log/tile/entries/001", 256, 512},
			{"/log/tile/entries/002.p/109", 512, 621},
			{"/log/tile/entries/002.p/1", 512, 513},
			{"/log/tile/entries/000.p/3", 0, 3},
		} {
			resp, b := get(t, srv, c.path)
			if resp.StatusCode != 200 {
				t.Errorf("GET %s = %s", c.path, resp.Status)
				continue
			}
			var want []byte
			for _, r := range records[c.first:c.last] {
				want = binary.BigEndian.AppendUint16(want, uint16(len(r)))
				want = append(want, r...)
			}
			if !bytes.Equal(b, want) {
				t.Errorf("GET %s: bundle differs from the records", c.path)
			}
		}

		// Nothing beyond the checkpoint, nothing malformed.
		for path, code := range map[string]int{
			"/log/tile/0/002":               404, // partial at 109 only
			"/log/tile/0/002.p/110":         404,
			"/log/tile/0/003.p/1":           404,
			"/log/tile/1/000":               404,
			"/log/tile/1/000.p/3":           404,
			"/log/tile/1/000.p/2":           200,
			"/log/tile/2/000.p/1":           404,
			"/log/tile/63/000.p/1":          404,
			"/log/tile/entries/002":         404,
			"/log/tile/entries/002.p/110":   404,
			"/log/tile/entries/x001/000":    404,
			"/log/tile/x/000":               400,
			"/log/tile/64/000":              400,
			"/log/tile/00/000":              400,
			"/log/tile/0/0":                 400,
			"/log/tile/0/000.p/0":           400,
			"/log/tile/0/000.p/256":         400,
			"/log/tile/0/000.p/08":          400,
			"/log/tile/0/x000/001":          400,
			"/log/tile/entries/000.p/":      400,
			"/log/tile/":                    400,
			"/log/tile/0/x9223372036854775": 400,
			"/log/checkpoints":              404,
		} {
			resp, _ := get(t, srv, path)
			if resp.StatusCode != code {
				t.Errorf("GET %s = %s, want %d", path, resp.Status, code)
			}
			// A tile beyond the checkpoint exists soon: a cache in front
			// of the log must not keep the 404.
			if cc := resp.Header.Get("Cache-Control"); code != 200 && strings.HasPrefix(path, "/log/tile/") && cc != "no-store" {
				t.Errorf("GET %s = %d with Cache-Control %q, want no-store", path, code, cc)
			}
		}
		resp, _ = get(t, srv, "/log/tile/0/000")
		if resp.StatusCode != 200 {
			t.Fatal(resp.Status)
		}
		// Bundles are compressed for clients that ask, and only for them.
		for _, c := range []struct {
			accept string
			gzip   bool
		}{{"gzip", true}, {"br, gzip;q=0.5", true}, {"identity", false}, {"gzip;q=0", false}, {"", false}} {
			req, _ := http.NewRequest("GET", srv.URL+"/log/tile/entries/001", nil)
			req.Header.Set("Accept-Encoding", c.accept)
			resp, err := srv.Client().Transport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			body := io.Reader(resp.Body)
			if got := resp.Header.Get("Content-Encoding") == "gzip"; got != c.gzip {
				t.Errorf("Accept-Encoding %q: Content-Encoding %q", c.accept, resp.Header.Get("Content-Encoding"))
			} else if got {
				if body, err = gzip.NewReader(resp.Body); err != nil {
					t.Fatal(err)
				}
			}
			b, err := io.ReadAll(body)
			resp.Body.Close()
			if err != nil || len(b) < 256*2 || !bytes.Contains(b, records[300]) {
				t.Errorf("Accept-Encoding %q: bundle of %d bytes, %v", c.accept, len(b), err)
			}
		}
		req, _ := http.NewRequest("POST", srv.URL+"/log/checkpoint", nil)
		if resp, err := srv.Client().Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST /log/checkpoint = %v, %v; want 405", resp.Status, err)
		}
	})
}

func TestTilePath(t *testing.T) {
	for _, c := range []struct {
		path string
		want tileAddr
	}{
		{"tile/0/000", tileAddr{0, 0, 256}},
		{"tile/0/001", tileAddr{0, 1, 256}},
		{"tile/0/999", tileAddr{0, 999, 256}},
		{"tile/0/x001/000", tileAddr{0, 1000, 256}},
		{"tile/0/x001/x234/067", tileAddr{0, 1234067, 256}},
		{"tile/0/x001/x234/067.p/8", tileAddr{0, 1234067, 8}},
		{"tile/63/000.p/255", tileAddr{63, 0, 255}},
		{"tile/entries/000.p/1", tileAddr{-1, 0, 1}},
		{"tile/entries/x009/x223/x372/x036/x854/x775/807", tileAddr{-1, 1<<63 - 1, 256}},
	} {
		got, err := parseTilePath(c.path)
		if err != nil || got != c.want {
			t.Errorf("parseTilePath(%q) = %+v, %v; want %+v", c.path, got, err, c.want)
		}
		if s := c.want.String(); s != c.path {
			t.Errorf("%+v.String() = %q, want %q", c.want, s, c.path)
		}
	}
	for _, p := range []string{
		"", "tile", "tile/", "tile/0", "tile/0/", "tile/0/00", "tile/0/0000", "tile/0/x000/000", "tile/0/x001",
		"tile/0/001/000", "tile/0/x01/000", "tile/0/+01", "tile/0/-01", "tile/0/ 01", "tile/01/000", "tile/64/000",
		"tile/-1/000", "tile/data/000", "tile/entries/000.p/256", "tile/0/000.p/0", "tile/0/000.p/007",
		"tile/0/000.p", "tile/0/000.p/", "tile/0/000.p/8/", "tile/0/000/", "/tile/0/000", "tile/0/000.p/8.p/8",
		"tile/0/x009/x223/x372/x036/x854/x775/808", "tile/0/x001/x000/x000/x000/x000/x000/x000/000",
		"tile/0/x001/x234/067.p/8x", "tile/0/x001/x234/x067", "tile/entries/x000/000", "tile/0/000.P/8",
	} {
		if got, err := parseTilePath(p); err == nil {
			t.Errorf("parseTilePath(%q) = %+v, want an error", p, got)
		}
	}
}
