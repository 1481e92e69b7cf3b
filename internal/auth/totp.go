package auth

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"net/url"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// NewTOTPSecret returns a new random TOTP secret (RFC 6238: SHA-1, 6
// digits, 30 s), base32 encoded.
func NewTOTPSecret(issuer, account string) (string, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account})
	if err != nil {
		return "", err
	}
	return key.Secret(), nil
}

// TOTPEnrolment returns the otpauth:// URL of secret for the account and a
// PNG QR code of it as a data: URL for an <img> tag.
func TOTPEnrolment(issuer, account, secret string) (otpURL, qrDataURL string, err error) {
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", "6")
	v.Set("period", "30")
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + account, RawQuery: v.Encode()}
	key, err := otp.NewKeyFromURL(u.String())
	if err != nil {
		return "", "", err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return "", "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", "", err
	}
	return key.URL(), "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// CheckTOTP reports whether code is valid for secret at time t, allowing one
// 30-second step of clock drift either way.
func CheckTOTP(secret, code string, t time.Time) bool {
	ok, err := totp.ValidateCustom(code, secret, t.UTC(), totp.ValidateOpts{
		Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	return err == nil && ok
}

// TOTPCode returns the current code for secret. Tests and the demo use it.
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCode(secret, t.UTC())
}
