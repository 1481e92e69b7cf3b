package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
	"qorgau.kz/qorgau/internal/store"
)

// cameraSim plays the video management systems of the demo country: it
// reports every camera through the batch API, as a real VMS would, and
// keeps a few of them silent for a while so that the fleet page shows
// outages coming and going.
type cameraSim struct {
	base    string // the server's URL
	token   string
	cameras []string
	client  *http.Client
	log     *slog.Logger
	rng     *rand.Rand
	silent  map[string]time.Time // camera → until when it stays silent
	// Every is how often each camera is reported (half the demo's 30 s).
	Every time.Duration
	// Batch is how many beats go in one request.
	Batch int
}

// newCameraSim adds a camera source for the demo (a new one at each start:
// a token is shown only once) and lists the cameras it reports.
func newCameraSim(ctx context.Context, db *store.DB, base string, log *slog.Logger, seed int64) (*cameraSim, error) {
	token, id := auth.NewToken()
	src := &qorgau.CameraSource{Name: fmt.Sprintf("demo-vms-%d", time.Now().UnixNano())}
	if err := db.CreateCameraSource(ctx, src, id, &qorgau.AuditRecord{Actor: "demo", Action: qorgau.AuditSourceAdded, Target: src.Name, Detail: "scope country"}); err != nil {
		return nil, err
	}
	devs, _, err := db.Devices(ctx, qorgau.DeviceFilter{Kind: qorgau.DeviceCamera})
	if err != nil {
		return nil, err
	}
	s := &cameraSim{base: base, token: token, client: &http.Client{Timeout: 30 * time.Second}, log: log,
		rng: rand.New(rand.NewPCG(uint64(seed), 7)), silent: map[string]time.Time{}, Every: 15 * time.Second, Batch: 10_000}
	for _, d := range devs {
		s.cameras = append(s.cameras, d.ID)
	}
	return s, nil
}

// Run reports the cameras every s.Every until ctx ends.
func (s *cameraSim) Run(ctx context.Context) {
	tick := time.NewTicker(s.Every)
	defer tick.Stop()
	for {
		if err := s.round(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.log.Warn("demo cameras", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// round reports every camera that is not silent now. About one camera in
// two thousand falls silent each round, for 2 to 20 minutes.
func (s *cameraSim) round(ctx context.Context, now time.Time) error {
	for id, until := range s.silent {
		if now.After(until) {
			delete(s.silent, id)
		}
	}
	for range max(1, len(s.cameras)/2000) {
		if len(s.cameras) == 0 {
			break
		}
		id := s.cameras[s.rng.IntN(len(s.cameras))]
		s.silent[id] = now.Add(time.Duration(2+s.rng.IntN(19)) * time.Minute)
	}
	batch := make([]qorgau.DeviceBeat, 0, s.Batch)
	for k, id := range s.cameras {
		if _, quiet := s.silent[id]; !quiet {
			batch = append(batch, qorgau.DeviceBeat{Device: id, Time: now, OK: true})
		}
		if len(batch) == s.Batch || k == len(s.cameras)-1 && len(batch) > 0 {
			if err := s.post(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return nil
}

func (s *cameraSim) post(ctx context.Context, beats []qorgau.DeviceBeat) error {
	body, err := json.Marshal(map[string]any{"heartbeats": beats})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", s.base+"/api/v1/devices/heartbeats", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var ans struct {
		Accepted int
		Rejected []struct{ Device, Error string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("camera batch: %s", resp.Status)
	}
	if len(ans.Rejected) > 0 {
		return fmt.Errorf("camera batch: %d of %d beats rejected, e.g. %s: %s", len(ans.Rejected), len(beats), ans.Rejected[0].Device, ans.Rejected[0].Error)
	}
	return nil
}
