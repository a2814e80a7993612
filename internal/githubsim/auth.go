package githubsim

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// identity is who a request acts as.
type identity struct {
	user *user // the acting user or bot; nil for the App itself (JWT)
	app  bool  // authenticated as the App with a JWT
	inst *installation
	key  string // rate-limit bucket
}

func (id identity) describe() string {
	switch {
	case id.inst != nil:
		return fmt.Sprintf("installation ID %d", id.inst.id)
	case id.app:
		return "the app"
	case id.user != nil:
		return "user ID " + strconv.FormatInt(id.user.id, 10)
	}
	return "this IP"
}

type identityKey struct{}

func requestIdentity(r *http.Request) identity {
	id, _ := r.Context().Value(identityKey{}).(identity)
	return id
}

// token is an access token: a user's personal token or an installation token
// that acts as the App's bot.
type token struct {
	value   string
	user    *user
	inst    *installation
	expires time.Time // zero: never
}

type installation struct {
	id      int64
	account *user
	created time.Time
}

//lint:ignore ST1005 GitHub's own wording, sent to API clients
var errBadCredentials = errors.New("Bad credentials")

// authenticate reads the Authorization header ("token X", "Bearer X", or
// Basic with the token as password, as git clients send it).
func (s *Server) authenticate(r *http.Request) (identity, error) {
	h := r.Header.Get("Authorization")
	var cred string
	switch {
	case h == "":
	case strings.HasPrefix(strings.ToLower(h), "token "), strings.HasPrefix(strings.ToLower(h), "bearer "):
		cred = strings.TrimSpace(h[strings.IndexByte(h, ' ')+1:])
	case strings.HasPrefix(strings.ToLower(h), "basic "):
		_, pass, ok := r.BasicAuth()
		if !ok {
			return identity{}, errBadCredentials
		}
		cred = pass
	default:
		return identity{}, errBadCredentials
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cred == "" {
		if s.opts.RequireAuth {
			//lint:ignore ST1005 GitHub's own wording, sent to API clients
			return identity{}, errors.New("Requires authentication")
		}
		return identity{user: s.app.bot, key: "anonymous"}, nil
	}
	if strings.Count(cred, ".") == 2 {
		if err := s.verifyAppJWT(cred); err != nil {
			return identity{}, err
		}
		return identity{app: true, key: "app"}, nil
	}
	t, ok := s.tokens[cred]
	if !ok {
		return identity{}, errBadCredentials
	}
	if !t.expires.IsZero() && !s.now().Before(t.expires) {
		return identity{}, errBadCredentials
	}
	key := "user:" + t.user.login
	if t.inst != nil {
		key = "installation:" + strconv.FormatInt(t.inst.id, 10)
	}
	return identity{user: t.user, inst: t.inst, key: key}, nil
}

// verifyAppJWT checks an App JWT: RS256, iss = App ID, iat/exp sane. The
// signature is checked only when Options.App.PublicKey is set. Call with s.mu held.
func (s *Server) verifyAppJWT(tok string) error {
	//lint:ignore ST1005 GitHub's own wording, sent to API clients
	bad := errors.New("A JSON web token could not be decoded")
	parts := strings.Split(tok, ".")
	hdrRaw, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	claimsRaw, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return bad
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iss json.RawMessage `json:"iss"`
		Iat int64           `json:"iat"`
		Exp int64           `json:"exp"`
	}
	if json.Unmarshal(hdrRaw, &hdr) != nil || json.Unmarshal(claimsRaw, &claims) != nil {
		return bad
	}
	if hdr.Alg != "RS256" {
		return bad
	}
	if key := s.opts.App.PublicKey; key != nil {
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig) != nil {
			//lint:ignore ST1005 GitHub's own wording, sent to API clients
			return errors.New("A JSON web token could not be decoded")
		}
	}
	iss := strings.Trim(string(claims.Iss), `"`)
	if iss != strconv.FormatInt(s.app.id, 10) && iss != s.app.slug {
		//lint:ignore ST1005 GitHub's own wording, sent to API clients
		return fmt.Errorf("Integration not found (iss %q is not App ID %d)", iss, s.app.id)
	}
	now := s.now().Unix()
	if claims.Exp == 0 || claims.Exp <= now {
		return errors.New("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires")
	}
	if claims.Exp-claims.Iat > 600+60 {
		return errors.New("'Expiration time' claim ('exp') is too far in the future")
	}
	return nil
}

// Token issues a personal access token that acts as login, for API calls
// and git over HTTP (as the Basic-auth password).
func (s *Server) Token(login string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(login)
	if err != nil {
		return "", err
	}
	t := &token{value: fmt.Sprintf("ghp_sim%029d", s.nextID(idToken)), user: u}
	s.tokens[t.value] = t
	return t.value, nil
}

// Install installs the App on an account (user or organization) and returns
// the installation ID. Installing twice returns the same ID.
func (s *Server) Install(account string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(account)
	if err != nil {
		return 0, err
	}
	return s.installLocked(u).id, nil
}

func (s *Server) installLocked(u *user) *installation {
	for _, in := range s.installs {
		if in.account == u {
			return in
		}
	}
	in := &installation{id: s.nextID(idInstallation), account: u, created: s.now()}
	s.installs = append(s.installs, in)
	return in
}

// installationFor returns the App's installation on the repository's owner, or nil.
func (s *Server) installationFor(rp *repo) *installation {
	for _, in := range s.installs {
		if in.account == rp.owner {
			return in
		}
	}
	return nil
}

// rateBucket counts requests of one identity in the current hour.
type rateBucket struct {
	used  int
	reset time.Time
}

// rateHeaders sets X-RateLimit-* and, when count is set, charges one request.
// It reports whether the request is over the limit.
func (s *Server) rateHeaders(w http.ResponseWriter, key string, count bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	limit := s.opts.RateLimit
	if limit == 0 {
		limit = 5000
	}
	now := s.now()
	b := s.rate[key]
	if b == nil || !now.Before(b.reset) {
		b = &rateBucket{reset: now.Add(time.Hour)}
		s.rate[key] = b
	}
	over := false
	if count {
		if limit > 0 && b.used >= limit {
			over = true
		} else {
			b.used++
		}
	}
	shown, remaining := limit, limit-b.used
	if limit < 0 { // unlimited: a full budget is always left
		shown, remaining = 5000, 5000
	}
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(shown))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(b.reset.Unix(), 10))
	h.Set("X-RateLimit-Used", strconv.Itoa(b.used))
	h.Set("X-RateLimit-Resource", "core")
	return over
}
