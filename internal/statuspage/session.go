package statuspage

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// A sealed value is base64url(JSON) "." base64url(HMAC-SHA256(key,
// purpose "\n" JSON)): readable by anyone, changed by nobody without the
// key, and valid for one purpose only (a login's state is not a session).
const (
	purposeSession = "prdeploy status session v1"
	purposeLogin   = "prdeploy status login v1"
)

var (
	errSealInvalid = errors.New("signature does not match")
	errSealExpired = errors.New("expired")
)

// session is who signed in, until when.
type session struct {
	Login   string `json:"login"`
	Expires int64  `json:"exp"`
}

// loginState is a login in progress: the state sent to GitHub, where to
// go back to, until when.
type loginState struct {
	State   string `json:"state"`
	Next    string `json:"next"`
	Expires int64  `json:"exp"`
}

type sealer struct{ key []byte }

func (s sealer) mac(purpose string, payload []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose + "\n"))
	m.Write(payload)
	return m.Sum(nil)
}

func (s sealer) seal(purpose string, v any) (string, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(s.mac(purpose, payload)), nil
}

// open checks a sealed value and decodes it into v; expires reads v's
// expiry, which must be after now.
func (s sealer) open(purpose, sealed string, now time.Time, v any, expires func() int64) error {
	p, m, ok := strings.Cut(sealed, ".")
	if !ok || len(sealed) > 4096 {
		return errSealInvalid
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p)
	mac, err2 := enc.DecodeString(m)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.mac(purpose, payload)) {
		return errSealInvalid
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return errSealInvalid
	}
	if now.Unix() >= expires() {
		return errSealExpired
	}
	return nil
}
