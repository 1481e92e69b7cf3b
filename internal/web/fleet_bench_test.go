package web_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/sig"
	"qorgau.kz/qorgau/internal/web"
)

// benchClient is a keep-alive client with enough idle connections for the
// parallel senders.
func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}}
}

// BenchmarkHTTPHeartbeat sends one signed terminal heartbeat per request
// over loopback HTTP, from many goroutines: the whole path of
// authentication (Ed25519 verification, nonce, key cache), decoding and
// the tracker. The requests are signed before the timer starts, since on a
// real deployment the terminals sign them, not the server's cores.
func BenchmarkHTTPHeartbeat(b *testing.B) {
	t := &testing.T{}
	e := newEnv(t, web.Config{RequireTOTP: true})
	defer e.ts.Close()
	withFleet(t, e, web.Config{RequireTOTP: true})
	tm := e.enroll(t, "T-1")
	body, _ := json.Marshal(qorgau.Heartbeat{Boot: "b1", Uptime: 100, Sent: e.now, Network: qorgau.NetworkUp})
	path := "/api/terminal/v1/heartbeat"
	type signed struct{ nonce, sig string }
	reqs := make([]signed, b.N)
	for i := range reqs {
		n := nonce()
		dr := qorgau.DeviceRequest{Method: "POST", Path: path, Body: body, DeviceID: tm.id, Time: e.now, Nonce: n}
		reqs[i] = signed{n, dr.Sign(tm.priv)}
	}
	c := benchClient()
	url := e.ts.URL + path
	ts := fmt.Sprint(e.now.Unix())
	var next, failed atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s := reqs[next.Add(1)-1]
			req, _ := http.NewRequestWithContext(context.Background(), "POST", url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(qorgau.HeaderDevice, tm.id)
			req.Header.Set(qorgau.HeaderTimestamp, ts)
			req.Header.Set(qorgau.HeaderNonce, s.nonce)
			req.Header.Set(qorgau.HeaderSignature, s.sig)
			resp, err := c.Do(req)
			if err != nil {
				failed.Add(1)
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				failed.Add(1)
			}
		}
	})
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d heartbeats failed", n, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "heartbeats/s")
}

// BenchmarkHTTPBatch sends camera heartbeats in batches of 10,000 through
// the source API, as a VMS reporting 45,000 cameras would.
func BenchmarkHTTPBatch(b *testing.B) {
	t := &testing.T{}
	e := newEnv(t, web.Config{RequireTOTP: true})
	defer e.ts.Close()
	const cameras, batch = 45_000, 10_000
	devs := make([]qorgau.Device, cameras)
	for i := range devs {
		devs[i] = qorgau.Device{ID: fmt.Sprintf("CAM-%06d", i), Kind: qorgau.DeviceCamera, Facility: "EC-166-1", Interval: 60}
	}
	must(t, e.db.SaveDevices(context.Background(), devs, nil))
	withFleet(t, e, web.Config{RequireTOTP: true})
	token := e.addSource(t, qorgau.CameraSource{Name: "vms"})
	bodies := make([][]byte, cameras/batch+1)
	for k := range bodies {
		beats := make([]qorgau.DeviceBeat, batch)
		for j := range beats {
			beats[j] = qorgau.DeviceBeat{Device: devs[(k*batch+j)%cameras].ID, Time: e.now.Add(-time.Second), OK: true}
		}
		bodies[k], _ = json.Marshal(map[string]any{"heartbeats": beats})
	}
	c := benchClient()
	url := e.ts.URL + "/api/v1/devices/heartbeats"
	b.SetBytes(int64(len(bodies[0])))
	b.ResetTimer()
	for i := range b.N {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(bodies[i%len(bodies)]))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var ans struct{ Accepted int }
		json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || ans.Accepted != batch {
			b.Fatalf("batch = %d, %d accepted", resp.StatusCode, ans.Accepted)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "beats/s")
}

// BenchmarkVerifyHeartbeat is the Ed25519 verification every signed
// heartbeat needs: the bound of BenchmarkHTTPHeartbeat per core.
func BenchmarkVerifyHeartbeat(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	body, _ := json.Marshal(qorgau.Heartbeat{Boot: "b1", Uptime: 100, Network: qorgau.NetworkUp})
	dr := qorgau.DeviceRequest{Method: "POST", Path: "/api/terminal/v1/heartbeat", Body: body, DeviceID: "T-1", Time: time.Now(), Nonce: nonce()}
	signature, _ := qorgau.ParseDeviceSignature(dr.Sign(priv))
	b.ReportAllocs()
	for range b.N {
		if !sig.Verify(pub, dr.Message(), signature) {
			b.Fatal("the signature does not verify")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
}

// BenchmarkHeartbeatHandler is BenchmarkHTTPHeartbeat without the network
// and the client: the server's own cost of one signed heartbeat, through
// the whole handler chain (metrics, cross-origin check, guard, handler).
func BenchmarkHeartbeatHandler(b *testing.B) {
	t := &testing.T{}
	e := newEnv(t, web.Config{RequireTOTP: true})
	defer e.ts.Close()
	withFleet(t, e, web.Config{RequireTOTP: true})
	tm := e.enroll(t, "T-1")
	body, _ := json.Marshal(qorgau.Heartbeat{Boot: "b1", Uptime: 100, Network: qorgau.NetworkUp})
	path := "/api/terminal/v1/heartbeat"
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		n := nonce()
		dr := qorgau.DeviceRequest{Method: "POST", Path: path, Body: body, DeviceID: tm.id, Time: e.now, Nonce: n}
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(qorgau.HeaderDevice, tm.id)
		req.Header.Set(qorgau.HeaderTimestamp, fmt.Sprint(e.now.Unix()))
		req.Header.Set(qorgau.HeaderNonce, n)
		req.Header.Set(qorgau.HeaderSignature, dr.Sign(tm.priv))
		reqs[i] = req
	}
	h := e.srv.Handler()
	var next, failed atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, reqs[next.Add(1)-1])
			if w.Code != http.StatusOK {
				failed.Add(1)
			}
		}
	})
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d heartbeats failed", n, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "heartbeats/s")
}
