package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/kiosk"
	"qorgau.kz/qorgau/internal/seal"
)

// TestSimRounds runs sim against a real server with rounds small enough
// that its complaints take several, cut by count and by preparation time,
// and checks that every complaint is accepted and its receipt verifies.
func TestSimRounds(t *testing.T) {
	size, prep := simRoundSize, simRoundPrep
	t.Cleanup(func() { simRoundSize, simRoundPrep = size, prep })

	const complaints = 20
	tests := []struct {
		name   string
		size   int
		prep   time.Duration
		rounds int
	}{
		{"one round", 1000, time.Minute, 1},
		{"rounds of 7", 7, time.Minute, 3},
		{"rounds cut by preparation time", 1000, 0, complaints}, // one request per round
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A server of its own: sim enrols the terminals anew, and the
			// server may still hold the keys of the last run for a while.
			w := newWorld(t, 2)
			srv := startServe(t, w.dir)
			simRoundSize, simRoundPrep = tt.size, tt.prep
			cfg := simConfig{db: dbFlags{data: w.dir}, server: srv.base(), terminals: 2, complaints: complaints, concurrency: 3}
			res, err := simulate(context.Background(), cfg, io.Discard)
			if err != nil {
				t.Fatalf("simulate = %v", err)
			}
			if res.Rounds != tt.rounds || res.Accepted != complaints || res.Errors != 0 || res.Verified != complaints {
				t.Errorf("simulate = %d rounds, %d accepted, %d errors (%s), %d receipts verified; want %d rounds, %d accepted and verified",
					res.Rounds, res.Accepted, res.Errors, res.FirstError, res.Verified, tt.rounds, complaints)
			}
			if res.Seconds <= 0 || res.PerSecond <= 0 {
				t.Errorf("simulate = %v s, %v complaints/s, want both positive", res.Seconds, res.PerSecond)
			}
		})
	}
}

// TestPreparedSubmit checks what sim's rounds rely on: a prepared
// submission is accepted when sent later, once, and only while its
// signature is within the server's clock-skew window.
func TestPreparedSubmit(t *testing.T) {
	w := newWorld(t, 1)
	srv := startServe(t, w.dir)
	kt := w.enroll(t, srv.base(), "T-1")
	reply, err := seal.DeriveReply(seal.NewReceiptCode(), kt.salt)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	prepare := func(idem string) *kiosk.PreparedRequest {
		t.Helper()
		p := kt.seal(t, "Письма адвокату не отправляют.", qorgau.CategoryContact, []string{"PROS-KZ-35"}, "", reply, idem)
		req, err := kt.PrepareSubmit(p.envelope, p.routing)
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	refused := func(err error) bool {
		var ae *kiosk.APIError
		return errors.As(err, &ae) && ae.Status == http.StatusUnauthorized
	}

	req := prepare("prepared-1")
	time.Sleep(1100 * time.Millisecond) // signed in an earlier second than sent
	ans, err := kt.Send(ctx, req)
	if err != nil {
		t.Fatalf("Send(prepared) = %v", err)
	}
	if sub, err := kiosk.ParseSubmitted(ans); err != nil || sub.Receipt == "" {
		t.Errorf("ParseSubmitted(%s) = %+v, %v, want a receipt", ans, sub, err)
	}
	if _, err := kt.Send(ctx, req); !refused(err) {
		t.Errorf("Send(same request again) = %v, want a 401 refusal", err)
	}

	// sim's own sender puts the same request on the wire.
	fast := newSimSender(1)
	defer fast.CloseIdleConnections()
	req = prepare("prepared-3")
	ans, err = fast.send(req)
	if err != nil {
		t.Fatalf("simSender.send(prepared) = %v", err)
	}
	if sub, err := kiosk.ParseSubmitted(ans); err != nil || sub.Receipt == "" {
		t.Errorf("ParseSubmitted(%s) = %+v, %v, want a receipt", ans, sub, err)
	}
	_, err = fast.send(req)
	var ae *kiosk.APIError
	if !refused(err) || !errors.As(err, &ae) || !strings.Contains(ae.Message, "nonce") {
		t.Errorf("simSender.send(same request again) = %v, want a 401 refusal naming the nonce", err)
	}

	kt.Now = func() time.Time { return time.Now().Add(-10 * time.Minute) }
	if _, err := kt.Send(ctx, prepare("prepared-2")); !refused(err) {
		t.Errorf("Send(signed 10 minutes ago) = %v, want a 401 refusal", err)
	}
	if _, err := fast.send(prepare("prepared-4")); !refused(err) {
		t.Errorf("simSender.send(signed 10 minutes ago) = %v, want a 401 refusal", err)
	}
}
