package statuspage

import "time"

// SealSession seals a session for login with key, as a server with that
// key would: tests forge cookies with it.
func SealSession(key []byte, login string, expires time.Time) string {
	v, err := sealer{key: key}.seal(purposeSession, session{Login: login, Expires: expires.Unix()})
	if err != nil {
		panic(err)
	}
	return v
}
