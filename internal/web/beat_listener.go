package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"qorgau.kz/qorgau"
)

// BeatServer is the heartbeat listener (qorgau serve -beat-addr): a second
// HTTP server in the same process that takes heartbeats under sessions —
// POST /api/terminal/v1/heartbeat/beat, and nothing else — so that a large
// fleet's one-heartbeat-per-request traffic does not cost net/http's
// per-request work. Sessions are opened on the main server, which tells
// terminals this listener's URL (qorgau.BeatSession.BeatURL); both share
// the sessions, the checks (beatCore) and the fleet watch, so a terminal
// that cannot reach the listener sends the same heartbeat to the main
// server instead.
//
// It is fasthttp, not net/http: on the 2-core machine of the benchmarks
// net/http spends about 40 µs of CPU on an empty request, fasthttp about
// 22 µs (BenchmarkBeatTCP). fasthttp reuses its request objects, so
// nothing of a request is kept after the handler returns.
type BeatServer struct {
	s       *Server
	fs      *fasthttp.Server
	metrics beatMetrics
}

// beatListenerRoute is the route label of the listener's requests in the
// server's metrics, apart from the main server's heartbeat route.
const beatListenerRoute = "POST " + beatPath + " (listener)"

// NewBeatServer returns the heartbeat listener's server for s.
func (s *Server) NewBeatServer() *BeatServer {
	b := &BeatServer{s: s, metrics: beatMetrics{ok: s.requests.WithLabelValues(beatListenerRoute, "POST", "200"),
		latency: s.latency.WithLabelValues(beatListenerRoute, "POST")}}
	b.fs = &fasthttp.Server{
		Handler:               b.serve,
		ErrorHandler:          b.badRequest,
		Name:                  "qorgau",
		NoDefaultServerHeader: true,
		ReadTimeout:           10 * time.Second,
		WriteTimeout:          10 * time.Second,
		IdleTimeout:           120 * time.Second,
		// Larger than a heartbeat, so that beatCore, not fasthttp,
		// refuses an oversize one, with the API's JSON error.
		MaxRequestBodySize: 64 << 10,
		ReadBufferSize:     8 << 10, // the largest request head
		Logger:             fastLogger{s.log},
	}
	return b
}

// Handler is the listener's request handler, for benchmarks.
func (b *BeatServer) Handler() fasthttp.RequestHandler { return b.serve }

// Serve takes heartbeats on ln until Shutdown.
func (b *BeatServer) Serve(ln net.Listener) error { return b.fs.Serve(ln) }

// ServeTLS takes heartbeats over TLS on ln until Shutdown.
func (b *BeatServer) ServeTLS(ln net.Listener, certFile, keyFile string) error {
	return b.fs.ServeTLS(ln, certFile, keyFile)
}

// Shutdown stops taking connections and waits, until ctx is done, for the
// requests in progress.
func (b *BeatServer) Shutdown(ctx context.Context) error { return b.fs.ShutdownWithContext(ctx) }

func (b *BeatServer) serve(ctx *fasthttp.RequestCtx) {
	s := b.s
	if string(ctx.Path()) != beatPath {
		b.fail(ctx, qorgau.Errorf(qorgau.ENOTFOUND, "this listener takes only heartbeats: POST %s", beatPath))
		return
	}
	if !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "POST")
		b.answer(ctx, fasthttp.StatusMethodNotAllowed, qorgau.Errorf(qorgau.EINVALID, "method %s not allowed: POST heartbeats", ctx.Method()))
		return
	}
	start := time.Now()
	h := &ctx.Request.Header
	body := ctx.PostBody()
	in := beatIn{session: string(h.Peek(qorgau.HeaderSession)), counter: string(h.Peek(qorgau.HeaderCounter)),
		mac: string(h.Peek(qorgau.HeaderMAC)), contentType: string(h.ContentType()),
		body: body, tooLarge: len(body) > maxBeatBody}
	buf := beatBufs.Get().(*beatBuf)
	rep, mac, err := s.beatCore(ctx, &in, buf)
	if err != nil {
		beatBufs.Put(buf)
		b.fail(ctx, err)
		return
	}
	rh := &ctx.Response.Header
	rh.SetContentType("application/json")
	rh.Set("Cache-Control", "no-store")
	rh.Set("X-Content-Type-Options", "nosniff")
	rh.SetBytesV(qorgau.HeaderMAC, mac[:])
	ctx.SetBody(rep) // a copy: buf goes back to the pool
	beatBufs.Put(buf)
	b.metrics.ok.Inc()
	b.metrics.latency.Observe(time.Since(start).Seconds())
}

// fail answers err as the JSON API answers it (renderError).
func (b *BeatServer) fail(ctx *fasthttp.RequestCtx, err error) {
	b.answer(ctx, statusOf[qorgau.ErrorCode(err)], err)
}

// answer answers err with the given status.
func (b *BeatServer) answer(ctx *fasthttp.RequestCtx, status int, err error) {
	code, _, msg := b.s.errorParts(err, "path", beatPath, "listener", true)
	if msg == "" {
		msg = "internal error"
	}
	if code == qorgau.EUNAVAILABLE {
		ctx.Response.Header.Set("Retry-After", "2")
	}
	out, _ := json.Marshal(apiError{Error: code, Message: msg})
	ctx.Response.Header.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	ctx.SetStatusCode(status)
	ctx.SetBody(append(out, '\n'))
	b.s.requests.WithLabelValues(beatListenerRoute, string(ctx.Method()), strconv.Itoa(status)).Inc()
}

// badRequest answers a request fasthttp could not parse.
func (b *BeatServer) badRequest(ctx *fasthttp.RequestCtx, err error) {
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		b.fail(ctx, qorgau.Errorf(qorgau.ETOOLARGE, "a heartbeat is at most %d bytes", maxBeatBody))
		return
	}
	b.fail(ctx, qorgau.Errorf(qorgau.EINVALID, "malformed HTTP request: %v", err))
}

// fastLogger sends fasthttp's messages to the server's log.
type fastLogger struct{ log *slog.Logger }

func (l fastLogger) Printf(format string, args ...any) {
	l.log.Warn("heartbeat listener", "msg", fmt.Sprintf(format, args...))
}
