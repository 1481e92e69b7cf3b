package main

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/kiosk"
	"qorgau.kz/qorgau/internal/seal"
)

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

	kt.Now = func() time.Time { return time.Now().Add(-10 * time.Minute) }
	if _, err := kt.Send(ctx, prepare("prepared-2")); !refused(err) {
		t.Errorf("Send(signed 10 minutes ago) = %v, want a 401 refusal", err)
	}
}
