package webhook

import (
	"errors"
	"strings"
	"testing"
)

// TestSignGitHubVector is the example in GitHub's "Validating webhook
// deliveries" documentation.
func TestSignGitHubVector(t *testing.T) {
	const want = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	if got := Sign("It's a Secret to Everybody", []byte("Hello, World!")); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"zen":"Design for failure."}`)
	v, err := NewVerifier(otherSecret, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	good := Sign(testSecret, body)
	cases := []struct {
		name   string
		header string
		body   []byte
		want   error
	}{
		{"first secret", Sign(otherSecret, body), body, nil},
		{"second secret", good, body, nil},
		{"missing", "", body, ErrNoSignature},
		{"no prefix", strings.TrimPrefix(good, "sha256="), body, ErrMalformedSignature},
		{"sha1", "sha1=" + strings.Repeat("0", 40), body, ErrMalformedSignature},
		{"short", good[:len(good)-2], body, ErrMalformedSignature},
		{"long", good + "00", body, ErrMalformedSignature},
		{"not hex", "sha256=" + strings.Repeat("g", 64), body, ErrMalformedSignature},
		{"upper-case prefix", "SHA256=" + good[7:], body, ErrMalformedSignature},
		{"unknown secret", Sign("not configured", body), body, ErrSignatureMismatch},
		{"other body", good, []byte(`{"zen":"Design for failure!"}`), ErrSignatureMismatch},
		{"empty body", good, nil, ErrSignatureMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := v.Verify(c.header, c.body)
			if !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
			if err != nil && (strings.Contains(err.Error(), string(testSecret)) || strings.Contains(err.Error(), string(otherSecret))) {
				t.Fatalf("error names a secret: %v", err)
			}
		})
	}
}

func TestNewVerifierNeedsSecrets(t *testing.T) {
	if _, err := NewVerifier(); err == nil {
		t.Error("no secret accepted")
	}
	if _, err := NewVerifier(testSecret, ""); err == nil {
		t.Error("empty secret accepted")
	}
}
