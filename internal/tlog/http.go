package tlog

import (
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	sumtlog "golang.org/x/mod/sumdb/tlog"
)

// tileHeight is the height of the served tiles, fixed by C2SP tlog-tiles.
const tileHeight = 8

const tileWidth = 1 << tileHeight

// Handler returns the log's public, read-only HTTP surface, to be mounted
// at "/log/" (the paths below are absolute):
//
//	GET /log/checkpoint                 the latest signed checkpoint
//	GET /log/key                        the verifier key (signed-note vkey)
//	GET /log/tile/{L}/{N}[.p/{W}]       hash tiles, C2SP tlog-tiles
//	GET /log/tile/entries/{N}[.p/{W}]   entry bundles, C2SP tlog-tiles
//
// Nothing beyond the latest checkpoint is ever served: a tile or bundle the
// checkpoint does not cover is 404 Not Found, a malformed path 400 Bad
// Request. Full tiles and bundles never change and may be cached forever;
// partial ones for a minute; the checkpoint not at all. Entry bundles are
// gzip-compressed for clients that accept it.
func (l *Log) Handler() http.Handler {
	l.handlerOnce.Do(func() {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /log/checkpoint", l.serveCheckpoint)
		mux.HandleFunc("GET /log/key", l.serveKey)
		mux.HandleFunc("GET /log/tile/{path...}", l.serveTile)
		l.handler = mux
	})
	return l.handler
}

func (l *Log) serveCheckpoint(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(l.Checkpoint())
}

func (l *Log) serveKey(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	fmt.Fprintln(w, l.vkey)
}

func (l *Log) serveTile(w http.ResponseWriter, r *http.Request) {
	t, err := parseTilePath("tile/" + r.PathValue("path"))
	if err != nil {
		tileError(w, err.Error(), http.StatusBadRequest)
		return
	}
	data, err := l.readTile(r, t)
	if errors.Is(err, errBeyond) {
		tileError(w, "not found: beyond the latest checkpoint", http.StatusNotFound)
		return
	}
	if err != nil {
		l.log.Error("log: cannot read tile", "path", t.String(), "err", err)
		tileError(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("X-Content-Type-Options", "nosniff")
	if t.W == tileWidth {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=60")
	}
	if t.L < 0 {
		// Entry bundles are text and compress well; tiles are hashes.
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			h.Set("Content-Encoding", "gzip")
			zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
			zw.Write(data)
			zw.Close()
			return
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

// tileError answers a tile request that cannot be served, and forbids
// caching the answer: a tile beyond the checkpoint exists a moment later,
// and a cache in front of the log (a CDN) must not go on saying it does
// not.
func tileError(w http.ResponseWriter, msg string, status int) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, msg, status)
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.EqualFold(strings.TrimSpace(name), "gzip") {
				q := strings.ReplaceAll(params, " ", "")
				return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
			}
		}
	}
	return false
}

var errBeyond = errors.New("beyond the latest checkpoint")

// readTile returns the contents of t if the latest checkpoint covers it.
func (l *Log) readTile(r *http.Request, t tileAddr) ([]byte, error) {
	size := l.pub.Load().size
	// How many hashes (entries, at level -1) the tree has at t's level.
	count := size
	if t.L > 0 {
		count = size >> uint(tileHeight*t.L)
	}
	if count < int64(t.W) || t.N > (count-int64(t.W))/tileWidth {
		return nil, errBeyond
	}
	if t.L >= 0 {
		return sumtlog.ReadTileData(sumtlog.Tile{H: tileHeight, L: t.L, N: t.N, W: t.W}, l.hashReader(r.Context()))
	}
	entries, err := l.db.LogEntries(r.Context(), t.N*tileWidth, int64(t.W))
	if err != nil {
		return nil, err
	}
	n := 0
	for _, e := range entries {
		n += 2 + len(e)
	}
	b := make([]byte, 0, n)
	for _, e := range entries {
		if len(e) > 0xffff {
			return nil, fmt.Errorf("entry of %d bytes does not fit a bundle", len(e))
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(e)))
		b = append(b, e...)
	}
	return b, nil
}

// A tileAddr names a hash tile (L >= 0) or an entry bundle (L == -1) of
// width W (tileWidth if full).
type tileAddr struct {
	L int
	N int64
	W int
}

// String returns the tile's path per C2SP tlog-tiles: tile/{L}/{N}[.p/{W}]
// or tile/entries/{N}[.p/{W}], where N is written in groups of three
// digits, all but the last prefixed with "x": 1234067 is x001/x234/067.
func (t tileAddr) String() string {
	var b strings.Builder
	b.WriteString("tile/")
	if t.L < 0 {
		b.WriteString("entries")
	} else {
		b.WriteString(strconv.Itoa(t.L))
	}
	b.WriteByte('/')
	var groups []int64
	for n := t.N; ; n /= 1000 {
		groups = append(groups, n%1000)
		if n < 1000 {
			break
		}
	}
	for i := len(groups) - 1; i >= 0; i-- {
		if i > 0 {
			fmt.Fprintf(&b, "x%03d/", groups[i])
		} else {
			fmt.Fprintf(&b, "%03d", groups[i])
		}
	}
	if t.W != tileWidth {
		fmt.Fprintf(&b, ".p/%d", t.W)
	}
	return b.String()
}

var errTilePath = errors.New("malformed tile path")

// parseTilePath parses a tile path (see tileAddr.String). It accepts only
// the canonical form: a level from 0 to 63 without leading zeroes, N in
// three-digit groups with no leading all-zero group and no more groups than
// an int64 needs, and a partial width from 1 to 255 without leading zeroes.
func parseTilePath(p string) (tileAddr, error) {
	rest, ok := strings.CutPrefix(p, "tile/")
	if !ok {
		return tileAddr{}, errTilePath
	}
	var t tileAddr
	level, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return tileAddr{}, errTilePath
	}
	if level == "entries" {
		t.L = -1
	} else {
		n, ok := smallDecimal(level, 0, 63)
		if !ok {
			return tileAddr{}, fmt.Errorf("%w: level must be 0 to 63", errTilePath)
		}
		t.L = n
	}
	t.W = tileWidth
	if nPart, w, ok := strings.Cut(rest, ".p/"); ok {
		width, ok := smallDecimal(w, 1, tileWidth-1)
		if !ok {
			return tileAddr{}, fmt.Errorf("%w: width must be 1 to 255", errTilePath)
		}
		t.W, rest = width, nPart
	}
	groups := strings.Split(rest, "/")
	if len(groups) > 7 { // 7 groups hold every int64
		return tileAddr{}, fmt.Errorf("%w: index too large", errTilePath)
	}
	for i, g := range groups {
		if i < len(groups)-1 {
			if g, ok = strings.CutPrefix(g, "x"); !ok {
				return tileAddr{}, fmt.Errorf("%w: index groups but the last start with x", errTilePath)
			}
		}
		if len(g) != 3 || !isDigits(g) {
			return tileAddr{}, fmt.Errorf("%w: index groups have three digits", errTilePath)
		}
		d, _ := strconv.Atoi(g)
		if t.N > (1<<63-1-int64(d))/1000 {
			return tileAddr{}, fmt.Errorf("%w: index too large", errTilePath)
		}
		t.N = t.N*1000 + int64(d)
	}
	if t.String() != p {
		return tileAddr{}, fmt.Errorf("%w: not in canonical form", errTilePath)
	}
	return t, nil
}

// smallDecimal parses s as a decimal in [lo, hi] without leading zeroes.
func smallDecimal(s string, lo, hi int) (int, bool) {
	if s == "" || len(s) > 3 || !isDigits(s) || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n, _ := strconv.Atoi(s)
	return n, lo <= n && n <= hi
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
