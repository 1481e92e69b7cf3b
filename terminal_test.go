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
	sig, err := ParseDeviceSignature(r.Sign(priv))
	if err != nil {
		t.Fatalf("ParseDeviceSignature(Sign()) = %v", err)
	}
	if !ed25519.Verify(pub, r.Message(), sig) {
		t.Fatal("the signature does not verify over Message")
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
		if ed25519.Verify(pub, c.Message(), sig) {
			t.Errorf("changed %s: the signature still verifies", name)
		}
	}
	other, _, _ := ed25519.GenerateKey(nil)
	if ed25519.Verify(other, r.Message(), sig) {
		t.Error("the signature verifies under another key")
	}
	for _, bad := range []string{"", "!!", "AAAA", r.Sign(priv) + "AA"} {
		if _, err := ParseDeviceSignature(bad); ErrorCode(err) != EUNAUTHORIZED {
			t.Errorf("ParseDeviceSignature(%q) = %v, want EUNAUTHORIZED", bad, err)
		}
	}
	if _, err := ParseDeviceTime("abc"); err == nil {
		t.Error("ParseDeviceTime(abc) = nil")
	}
}

func TestValidLookupID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"0123456789abcdef0123456789abcdef", true},
		{"0123456789ABCDEF0123456789abcdef", false}, // a second spelling of an id
		{"0123456789abcdef0123456789abcde", false},
		{"0123456789abcdef0123456789abcdef0", false},
		{"0123456789abcdeg0123456789abcdef", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := ValidLookupID(tt.id); got != tt.want {
			t.Errorf("ValidLookupID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}
