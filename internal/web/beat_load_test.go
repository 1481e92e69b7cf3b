//go:build unix

package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/web"
)

var beatConns = flag.Int("beat.conns", 128, "BenchmarkBeatTCP: terminals, each with its own session and keep-alive connection")

// beatLoad is what BenchmarkBeatTCP hands its client process.
type beatLoad struct {
	Addr     string       `json:"addr"`
	Body     []byte       `json:"body"`
	Sessions []beatClient `json:"sessions"`
	Total    int          `json:"total"`
}

type beatClient struct {
	ID  string `json:"id"`
	Key []byte `json:"key"`
}

// beatResult is what the client process reports.
type beatResult struct {
	Sent     int     `json:"sent"`
	Failed   int     `json:"failed"`
	Seconds  float64 `json:"seconds"`
	P50, P99 float64 // microseconds
	FirstErr string  `json:"first_err"`
}

// BenchmarkBeatTCP measures heartbeats under sessions, one per HTTP
// request, over real TCP against the server's real handler (an
// httptest.Server is a net/http server on a loopback listener). The
// client is a separate process — this test binary again, running
// TestBeatLoadClient — so that the server's CPU time can be told from the
// client's: it writes prebuilt HTTP/1.1 requests on -beat.conns keep-alive
// connections, one terminal and session each, every request with its own
// counter and MAC, and waits for each answer before the next (one
// heartbeat in flight per terminal, as a kiosk sends them). b.N is the
// number of heartbeats.
//
// It reports heartbeats/s, the client's p50 and p99 round trip, and the
// CPU time of the server process (user + system, all of it: the HTTP
// server, the handler, the tracker, the runtime) and of the client per
// heartbeat. "server" sends them to the server's own route (net/http),
// "listener" to the heartbeat listener (serve -beat-addr, fasthttp).
func BenchmarkBeatTCP(b *testing.B) {
	b.Run("server", func(b *testing.B) { benchmarkBeatTCP(b, false) })
	b.Run("listener", func(b *testing.B) { benchmarkBeatTCP(b, true) })
}

func benchmarkBeatTCP(b *testing.B, listener bool) {
	t := &testing.T{}
	e := newEnv(t, web.Config{RequireTOTP: true})
	defer e.ts.Close()
	n := *beatConns
	devs := make([]qorgau.Device, n)
	for i := range devs {
		devs[i] = qorgau.Device{ID: fmt.Sprintf("T-%05d", i), Kind: qorgau.DeviceTerminal, Facility: "EC-166-1", Interval: 60}
	}
	must(t, e.db.SaveDevices(context.Background(), devs, nil))
	u, _ := url.Parse(e.ts.URL)
	if listener {
		_, beatURL := withBeatListener(t, e, web.Config{RequireTOTP: true})
		u, _ = url.Parse(beatURL)
	} else {
		withFleet(t, e, web.Config{RequireTOTP: true})
		u, _ = url.Parse(e.ts.URL)
	}
	load := beatLoad{Addr: u.Host, Total: b.N}
	load.Body, _ = json.Marshal(qorgau.Heartbeat{Boot: "Zq3xk2Lw9TQ", Uptime: 86400, Sent: e.now.UTC(), Outbox: 0,
		LogSize: 123456, Network: qorgau.NetworkUp})
	for _, d := range devs {
		s := e.enroll(t, d.ID).openBeat(t)
		load.Sessions = append(load.Sessions, beatClient{ID: s.id, Key: s.key})
	}
	if t.Failed() {
		b.Fatal("setup failed")
	}
	cfg, _ := json.Marshal(load)
	f, err := os.CreateTemp(b.TempDir(), "load-*.json")
	if err != nil {
		b.Fatal(err)
	}
	f.Write(cfg)
	f.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestBeatLoadClient$", "-test.count=1")
	cmd.Env = append(os.Environ(), "QORGAU_BEAT_LOAD="+f.Name())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	before := cpuTime()
	b.ResetTimer()
	err = cmd.Run()
	b.StopTimer()
	server := cpuTime() - before
	if err != nil {
		b.Fatalf("client: %v\n%s", err, out.Bytes())
	}
	var res beatResult
	i := bytes.Index(out.Bytes(), []byte("BEATRESULT "))
	if i < 0 {
		b.Fatalf("client said:\n%s", out.Bytes())
	}
	line, _, _ := bytes.Cut(out.Bytes()[i+len("BEATRESULT "):], []byte("\n"))
	if err := json.Unmarshal(line, &res); err != nil {
		b.Fatal(err)
	}
	if res.Failed > 0 || res.Sent != b.N {
		b.Fatalf("%d of %d heartbeats failed (%d sent); first: %s", res.Failed, b.N, res.Sent, res.FirstErr)
	}
	client := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	b.ReportMetric(float64(res.Sent)/res.Seconds, "heartbeats/s")
	b.ReportMetric(res.P50, "p50-µs")
	b.ReportMetric(res.P99, "p99-µs")
	b.ReportMetric(float64(server.Microseconds())/float64(b.N), "server-cpu-µs/hb")
	b.ReportMetric(float64(client.Microseconds())/float64(b.N), "client-cpu-µs/hb")
	b.ReportMetric(0, "ns/op") // the wall time per heartbeat is heartbeats/s
}

// cpuTime is this process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestBeatLoadClient is BenchmarkBeatTCP's client process; it runs only
// when the benchmark starts it.
func TestBeatLoadClient(t *testing.T) {
	path := os.Getenv("QORGAU_BEAT_LOAD")
	if path == "" {
		t.Skip("the client process of BenchmarkBeatTCP; runs only when the benchmark starts it")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var load beatLoad
	if err := json.Unmarshal(b, &load); err != nil {
		t.Fatal(err)
	}
	conns := min(len(load.Sessions), load.Total)
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		lat      []time.Duration
		res      beatResult
		start    = time.Now()
		firstErr error
	)
	for c := range conns {
		quota := load.Total / conns
		if c < load.Total%conns {
			quota++
		}
		wg.Go(func() {
			l, failed, err := beatConn(load.Addr, load.Sessions[c], load.Body, quota)
			mu.Lock()
			lat = append(lat, l...)
			res.Sent += len(l)
			res.Failed += failed
			if err != nil && firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	if firstErr != nil {
		res.FirstErr = firstErr.Error()
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		res.P50 = float64(lat[len(lat)/2].Microseconds())
		res.P99 = float64(lat[len(lat)*99/100].Microseconds())
	}
	out, _ := json.Marshal(res)
	fmt.Printf("BEATRESULT %s\n", out)
}

// beatConn sends n heartbeats under one session on one keep-alive
// connection, each after the answer to the one before, and returns the
// round trips of those answered 200.
func beatConn(addr string, s beatClient, body []byte, n int) (lat []time.Duration, failed int, err error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, n, err
	}
	defer conn.Close()
	head := []byte("POST /api/terminal/v1/heartbeat/beat HTTP/1.1\r\nHost: " + addr +
		"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) +
		"\r\n" + qorgau.HeaderSession + ": " + s.ID + "\r\n" + qorgau.HeaderCounter + ": ")
	m := qorgau.NewBeatHMAC(s.Key)
	r := bufio.NewReaderSize(conn, 4096)
	req := make([]byte, 0, 1024)
	var mac, enc [64]byte
	lat = make([]time.Duration, 0, n)
	for i := 1; i <= n; i++ {
		req = append(req[:0], head...)
		req = strconv.AppendInt(req, int64(i), 10)
		req = append(req, "\r\n"+qorgau.HeaderMAC+": "...)
		sum := qorgau.BeatMAC(mac[:0], m, s.ID, uint64(i), body)
		base64.RawURLEncoding.Encode(enc[:], sum)
		req = append(req, enc[:base64.RawURLEncoding.EncodedLen(len(sum))]...)
		req = append(req, "\r\n\r\n"...)
		req = append(req, body...)
		t0 := time.Now()
		if _, err := conn.Write(req); err != nil {
			return lat, n - len(lat), err
		}
		status, err := readAnswer(r)
		if err != nil {
			return lat, n - len(lat), err
		}
		if status != 200 {
			failed++
			if failed == 1 {
				err = fmt.Errorf("heartbeat %d: status %d", i, status)
			}
			continue
		}
		lat = append(lat, time.Since(t0))
	}
	return lat, failed, err
}

// readAnswer reads one HTTP/1.1 answer with a Content-Length and returns
// its status.
func readAnswer(r *bufio.Reader) (int, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	length := -1
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	if length < 0 {
		return 0, fmt.Errorf("answer without Content-Length")
	}
	_, err = r.Discard(length)
	return status, err
}

// beatHandlerSetup starts a server with a fleet watch and one terminal
// with a heartbeat session, and returns them with a heartbeat's body.
func beatHandlerSetup(b *testing.B) (*env, *beatSession, []byte) {
	t := &testing.T{}
	e := newEnv(t, web.Config{RequireTOTP: true})
	b.Cleanup(e.ts.Close)
	withFleet(t, e, web.Config{RequireTOTP: true})
	s := e.enroll(t, "T-1").openBeat(t)
	body, _ := json.Marshal(qorgau.Heartbeat{Boot: "Zq3xk2Lw9TQ", Uptime: 86400, Sent: e.now.UTC(), LogSize: 123456, Network: qorgau.NetworkUp})
	if t.Failed() {
		b.Fatal("setup failed")
	}
	return e, s, body
}

// BenchmarkBeatHandler is one heartbeat under a session through the
// server's handler, without the network: what BenchmarkBeatTCP's server
// CPU time is beyond net/http and the kernel.
func BenchmarkBeatHandler(b *testing.B) {
	e, s, body := beatHandlerSetup(b)
	h := e.srv.Handler()
	req := httptest.NewRequest("POST", "/api/terminal/v1/heartbeat/beat", nil)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(qorgau.HeaderSession, s.id)
	var mac [32]byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		n := uint64(i + 1)
		req.Header[qorgau.HeaderCounter] = []string{strconv.FormatUint(n, 10)}
		req.Header[qorgau.HeaderMAC] = []string{base64.RawURLEncoding.EncodeToString(qorgau.BeatMAC(mac[:0], s.mac, s.id, n, body))}
		req.Body = io.NopCloser(bytes.NewReader(body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("heartbeat %d = %d %s", n, w.Code, w.Body)
		}
	}
}

// BenchmarkBeatListenerHandler is BenchmarkBeatHandler through the
// heartbeat listener's handler: what BenchmarkBeatTCP/listener's server
// CPU time is beyond fasthttp and the kernel.
func BenchmarkBeatListenerHandler(b *testing.B) {
	e, s, body := beatHandlerSetup(b)
	h := e.srv.NewBeatServer().Handler()
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI("/api/terminal/v1/heartbeat/beat")
	req.Header.SetContentType("application/json")
	req.Header.Set(qorgau.HeaderSession, s.id)
	req.SetBody(body)
	var ctx fasthttp.RequestCtx
	var mac [32]byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		n := uint64(i + 1)
		ctx.Init(&req, nil, nil)
		ctx.Request.Header.Set(qorgau.HeaderCounter, strconv.FormatUint(n, 10))
		ctx.Request.Header.Set(qorgau.HeaderMAC, base64.RawURLEncoding.EncodeToString(qorgau.BeatMAC(mac[:0], s.mac, s.id, n, body)))
		h(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatalf("heartbeat %d = %d %s", n, ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}
