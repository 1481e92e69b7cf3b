package qorgau

import (
	"crypto/ed25519"
	"testing"
	"time"
)

func TestDeviceRequestSignature(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	r := DeviceRequest{Method: "POST", Path: "/api/terminal/v1/complaints", Body: []byte(`{"a":1}`),
		DeviceID: "T-1", Time: time.Unix(1_800_000_000, 0), Nonce: "n1"}
	sig := r.Sign(priv)
	if err := r.Verify(pub, sig); err != nil {
		t.Fatalf("Verify(own signature) = %v", err)
	}
	changes := map[string]func(*DeviceRequest){
		"method": func(r *DeviceRequest) { r.Method = "PUT" },
		"path":   func(r *DeviceRequest) { r.Path += "?x=1" },
		"body":   func(r *DeviceRequest) { r.Body = []byte(`{"a":2}`) },
		"device": func(r *DeviceRequest) { r.DeviceID = "T-2" },
		"time":   func(r *DeviceRequest) { r.Time = r.Time.Add(time.Second) },
		"nonce":  func(r *DeviceRequest) { r.Nonce = "n2" },
	}
	for name, change := range changes {
		c := r
		change(&c)
		if err := c.Verify(pub, sig); ErrorCode(err) != EUNAUTHORIZED {
			t.Errorf("changed %s: Verify = %v, want EUNAUTHORIZED", name, err)
		}
	}
	other, _, _ := ed25519.GenerateKey(nil)
	if err := r.Verify(other, sig); err == nil {
		t.Error("Verify under another key = nil")
	}
	for _, bad := range []string{"", "!!", "AAAA"} {
		if err := r.Verify(pub, bad); ErrorCode(err) != EUNAUTHORIZED {
			t.Errorf("Verify(%q) = %v", bad, err)
		}
	}
	if _, err := ParseDeviceTime("abc"); err == nil {
		t.Error("ParseDeviceTime(abc) = nil")
	}
}
