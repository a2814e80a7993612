package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"strings"
)

// SignatureHeader carries GitHub's HMAC-SHA256 of the raw request body,
// as "sha256=<64 hex digits>".
const SignatureHeader = "X-Hub-Signature-256"

const signaturePrefix = "sha256="

// Errors from Verifier.Verify. None of them says anything about a secret.
var (
	ErrNoSignature        = errors.New("missing " + SignatureHeader + " header")
	ErrMalformedSignature = errors.New("malformed " + SignatureHeader + ` header: want "sha256=" and 64 hex digits`)
	ErrSignatureMismatch  = errors.New(SignatureHeader + " does not match the body under any configured webhook secret")
)

// Secret is a webhook secret shared with GitHub. It prints, formats and
// logs as "[redacted]", so a Config or a Secret that ends up in a log line
// or an error does not leak it.
type Secret string

const redacted = "[redacted]"

// String hides the secret.
func (Secret) String() string { return redacted }

// GoString hides the secret from %#v.
func (Secret) GoString() string { return redacted }

// LogValue hides the secret from log/slog.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText hides the secret from encoding/json and the like (a config
// dumped as JSON, a struct logged by slog's JSON handler). Decoding a
// Secret is not affected.
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Verifier checks that a request body was signed with one of the configured
// secrets. More than one secret is accepted so a secret can be rotated:
// configure old and new, change it on GitHub, then drop the old one.
type Verifier struct {
	keys [][]byte
}

// NewVerifier accepts bodies signed with any of secrets. It needs at least
// one secret, and none may be empty.
func NewVerifier(secrets ...Secret) (*Verifier, error) {
	if len(secrets) == 0 {
		return nil, errors.New("no webhook secret configured: set the secret the GitHub App (or repository webhook) signs deliveries with")
	}
	v := &Verifier{keys: make([][]byte, 0, len(secrets))}
	for i, s := range secrets {
		if s == "" {
			return nil, fmt.Errorf("webhook secret %d of %d is empty: every configured secret must be set", i+1, len(secrets))
		}
		v.keys = append(v.keys, []byte(s))
	}
	return v, nil
}

// String describes the verifier without its secrets.
func (v *Verifier) String() string {
	return fmt.Sprintf("webhook.Verifier(%d secrets)", len(v.keys))
}

// Verify checks header (the value of X-Hub-Signature-256) against body.
// It compares in constant time against every secret, so the time taken does
// not tell which secret, or how much of the signature, matched.
func (v *Verifier) Verify(header string, body []byte) error {
	want, err := parseSignature(header)
	if err != nil {
		return err
	}
	m := v.newMAC()
	m.Write(body)
	return m.check(want, ErrSignatureMismatch)
}

// parseSignature reads the X-Hub-Signature-256 header, before any of the
// body is read.
func parseSignature(header string) ([]byte, error) {
	if header == "" {
		return nil, ErrNoSignature
	}
	hexSum, ok := strings.CutPrefix(header, signaturePrefix)
	if !ok || len(hexSum) != hex.EncodedLen(sha256.Size) {
		return nil, ErrMalformedSignature
	}
	got := make([]byte, sha256.Size)
	if _, err := hex.Decode(got, []byte(hexSum)); err != nil {
		return nil, ErrMalformedSignature
	}
	return got, nil
}

// newMAC returns the HMACs of every secret, to stream a body through.
func (v *Verifier) newMAC() *macs {
	m := &macs{}
	for _, key := range v.keys {
		m.sums = append(m.sums, hmac.New(sha256.New, key))
	}
	return m
}

// macs feeds what is written to it to the HMAC of every configured secret.
type macs struct{ sums []hash.Hash }

func (m *macs) Write(p []byte) (int, error) {
	for _, h := range m.sums {
		h.Write(p)
	}
	return len(p), nil
}

// check compares want with every sum, in constant time and always with
// all of them; mismatch is the error when none matches.
func (m *macs) check(want []byte, mismatch error) error {
	match := false
	for _, h := range m.sums {
		if hmac.Equal(want, h.Sum(nil)) {
			match = true
		}
	}
	if !match {
		return mismatch
	}
	return nil
}

// Sign returns the X-Hub-Signature-256 value GitHub sends for body signed
// with secret. The GitHub simulator and tests sign deliveries with it.
func Sign(secret Secret, body []byte) string {
	return signaturePrefix + hex.EncodeToString(sum([]byte(secret), body))
}

func sum(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return m.Sum(nil)
}
