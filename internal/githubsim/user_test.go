package githubsim

import (
	"context"
	"net/http"
	"testing"
)

// TestAuthenticatedUser: GET /user names a personal token's user, and
// refuses a request without one, as GitHub does (an installation token is
// refused with 403: see TestGitHubAppAuthenticationWithGhinstallation).
func TestAuthenticatedUser(t *testing.T) {
	s := newSim(t, Options{})
	if _, err := s.AddUser("bob", UserOptions{}); err != nil {
		t.Fatal(err)
	}
	me, _, err := client(t, s, try(s.Token("bob")).must(t)).Users.Get(context.Background(), "")
	if err != nil || me.GetLogin() != "bob" {
		t.Fatalf("GET /user with bob's token: %q %v", me.GetLogin(), err)
	}
	if _, _, err := client(t, s, "").Users.Get(context.Background(), ""); !isStatus(err, http.StatusUnauthorized) {
		t.Errorf("GET /user without a token: %v", err)
	}
}
