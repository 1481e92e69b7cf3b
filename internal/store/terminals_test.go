package store_test

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/store/storetest"
)

func TestEnrollment(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		seedRegistry(t, db)
		now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }
		if err := db.CreateEnrollmentToken(ctx, "tok-cam", "C-1", now.Add(time.Hour), nil); qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("token for a camera = %v, want EINVALID", err)
		}
		if err := db.CreateEnrollmentToken(ctx, "tok-x", "NOPE", now.Add(time.Hour), nil); qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("token for an unknown device = %v, want EINVALID", err)
		}
		if err := db.CreateEnrollmentToken(ctx, "tok-1", "T-1", now.Add(24*time.Hour), nil); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateEnrollmentToken(ctx, "tok-old", "T-1", now.Add(time.Minute), nil); err != nil {
			t.Fatal(err)
		}
		pub, _, _ := ed25519.GenerateKey(nil)
		if _, err := db.Enroll(ctx, "nope", pub, nil); qorgau.ErrorCode(err) != qorgau.EUNAUTHORIZED {
			t.Errorf("Enroll(unknown token) = %v", err)
		}
		d, err := db.Enroll(ctx, "tok-1", pub, &qorgau.AuditRecord{Actor: "terminal", Action: "terminal.enrolled"})
		if err != nil || d.ID != "T-1" || d.Facility != "EC-166-1" {
			t.Fatalf("Enroll = %+v, %v", d, err)
		}
		if _, err := db.Enroll(ctx, "tok-1", pub, nil); qorgau.ErrorCode(err) != qorgau.EUNAUTHORIZED {
			t.Errorf("Enroll with a used token = %v, want EUNAUTHORIZED", err)
		}
		now = now.Add(2 * time.Minute)
		if _, err := db.Enroll(ctx, "tok-old", pub, nil); qorgau.ErrorCode(err) != qorgau.EUNAUTHORIZED {
			t.Errorf("Enroll with an expired token = %v, want EUNAUTHORIZED", err)
		}
		k, err := db.DeviceKey(ctx, "T-1")
		if err != nil || !k.Public.Equal(pub) || k.Region != "KZ-35" || k.Revoked {
			t.Fatalf("DeviceKey = %+v, %v", k, err)
		}
		if err := db.RevokeDeviceKey(ctx, "T-1", nil); err != nil {
			t.Fatal(err)
		}
		if k, _ := db.DeviceKey(ctx, "T-1"); !k.Revoked {
			t.Error("key not revoked")
		}
		if _, err := db.DeviceKey(ctx, "C-1"); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			t.Errorf("DeviceKey(never enrolled) = %v", err)
		}
	})
}
