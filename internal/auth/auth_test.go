package auth

import (
	"strings"
	"testing"
	"time"
)

var fastParams = Params{Memory: 1024, Time: 1, Threads: 1}

func TestPassword(t *testing.T) {
	h, err := HashPassword("correct horse battery", fastParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Errorf("HashPassword = %q, want a PHC argon2id string", h)
	}
	for _, c := range []struct {
		pw   string
		want bool
	}{{"correct horse battery", true}, {"correct horse batterY", false}, {"", false}} {
		got, err := CheckPassword(h, c.pw)
		if err != nil || got != c.want {
			t.Errorf("CheckPassword(%q) = %v, %v; want %v", c.pw, got, err, c.want)
		}
	}
	h2, _ := HashPassword("correct horse battery", fastParams)
	if h2 == h {
		t.Error("two hashes of the same password are equal: salt is not random")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$aa$bb", "$argon2id$v=19$m=x$aa$bb", "$argon2id$v=19$m=1024,t=1,p=1$!!$bb"} {
		if _, err := CheckPassword(bad, "x"); err == nil {
			t.Errorf("CheckPassword(%q) = nil error, want malformed", bad)
		}
	}
}

func TestOneTimePassword(t *testing.T) {
	a, b := OneTimePassword(), OneTimePassword()
	if a == b || len(a) != 23 {
		t.Errorf("OneTimePassword = %q, %q; want two different 23-character strings", a, b)
	}
	if err := CheckNewPassword("aigerim", a); err != nil {
		t.Errorf("CheckNewPassword(one-time password) = %v", err)
	}
	if err := CheckNewPassword("aigerim", "short"); err == nil {
		t.Error("CheckNewPassword(short) = nil")
	}
	if err := CheckNewPassword("aigerim", "my-name-is-Aigerim!"); err == nil {
		t.Error("CheckNewPassword(containing the name) = nil")
	}
}

func TestTOTP(t *testing.T) {
	secret, err := NewTOTPSecret("Qorgau", "aigerim")
	if err != nil {
		t.Fatal(err)
	}
	url, qr, err := TOTPEnrolment("Qorgau", "aigerim", secret)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, "otpauth://totp/Qorgau:aigerim?") || !strings.HasPrefix(qr, "data:image/png;base64,") {
		t.Errorf("NewTOTP url=%q qr prefix=%q", url, qr[:30])
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	code, err := TOTPCode(secret, now)
	if err != nil {
		t.Fatal(err)
	}
	if !CheckTOTP(secret, code, now.Add(25*time.Second)) {
		t.Error("CheckTOTP rejects a code within the skew")
	}
	if CheckTOTP(secret, code, now.Add(5*time.Minute)) {
		t.Error("CheckTOTP accepts a five-minute-old code")
	}
	if CheckTOTP(secret, "000000", now) && code != "000000" {
		t.Error("CheckTOTP accepts a wrong code")
	}
}

func TestThrottle(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	th := NewThrottle(3, 10*time.Minute)
	th.Now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if d := th.RetryAfter("a"); d != 0 {
			t.Fatalf("attempt %d: RetryAfter = %v, want 0", i, d)
		}
		th.Fail("a")
		now = now.Add(time.Minute)
	}
	if d := th.RetryAfter("a"); d != 7*time.Minute {
		t.Errorf("after 3 failures RetryAfter = %v, want 7m (the first failure leaves the window)", d)
	}
	if d := th.RetryAfter("b"); d != 0 {
		t.Errorf("another key RetryAfter = %v, want 0", d)
	}
	now = now.Add(7 * time.Minute)
	if d := th.RetryAfter("a"); d != 0 {
		t.Errorf("after the window RetryAfter = %v, want 0", d)
	}
	th.Fail("a")
	th.Reset("a")
	if d := th.RetryAfter("a"); d != 0 {
		t.Errorf("after Reset RetryAfter = %v, want 0", d)
	}
}
