package githubsim

import (
	"net/http"
	"net/http/cgi"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// serveGit serves /<owner>/<repo>.git/… with git-http-backend (smart HTTP:
// clone, fetch — of refs or of any commit by SHA — and push for callers
// with write access). Private
// repositories need credentials with read access (Basic auth, the token as
// password). Pushes to a pull request's head branch deliver
// pull_request "synchronize", as on GitHub.
func (s *Server) serveGit(w http.ResponseWriter, r *http.Request, id identity) {
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 3)
	name := strings.TrimSuffix(parts[1], ".git")
	rest := ""
	if len(parts) == 3 {
		rest = parts[2]
	}
	push := rest == "git-receive-pack" || r.URL.Query().Get("service") == "git-receive-pack"

	s.mu.Lock()
	rp, ok := s.repos[strings.ToLower(parts[0]+"/"+name)]
	perm := ""
	if ok {
		perm = s.permissionLocked(rp, id.user)
	}
	if !ok || permRank[perm] < permRank["read"] {
		s.mu.Unlock()
		if r.Header.Get("Authorization") == "" && ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
			http.Error(w, "Authentication required", http.StatusUnauthorized)
			return
		}
		http.Error(w, "Repository not found.", http.StatusNotFound)
		return
	}
	login := ""
	if id.user != nil {
		login = id.user.login
	}
	if push && permRank[perm] < permRank["write"] {
		s.mu.Unlock()
		http.Error(w, "Permission to "+rp.fullName()+".git denied to "+login+".", http.StatusForbidden)
		return
	}
	// GitHub serves any commit by SHA, whether a ref points at it or not
	// (fetch <sha>, as prdeploy's checkout does); upload-pack says so
	// with allow-tip-sha1-in-want and allow-reachable-sha1-in-want.
	env := []string{"GIT_PROJECT_ROOT=" + s.dir, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_CONFIG_KEY_0=uploadpack.allowAnySHA1InWant", "GIT_CONFIG_VALUE_0=true"}
	if push {
		env = append(env, "REMOTE_USER="+login, "GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_1=http.receivepack", "GIT_CONFIG_VALUE_1=true")
	} else {
		env = append(env, "GIT_CONFIG_COUNT=1")
	}
	h := &cgi.Handler{Path: s.backend, Root: "/", Env: env, InheritEnv: []string{"PATH"}}
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + rp.owner.login + "/" + rp.name + ".git/" + rest
	r2.URL.RawPath = ""

	if !(push && rest == "git-receive-pack") {
		s.mu.Unlock()
		h.ServeHTTP(w, r2)
		return
	}
	// A push: hold the lock so the refs it moves are seen consistently,
	// then deliver synchronize events for the pull requests it updated.
	before := branchTips(rp)
	h.ServeHTTP(w, r2)
	if g, err := git.PlainOpen(rp.dir); err == nil { // see objects and packs git wrote
		rp.git = g
	}
	after := branchTips(rp)
	now := s.now()
	var evs []event
	branches := make([]string, 0, len(after))
	for b := range after {
		branches = append(branches, b)
	}
	sort.Strings(branches)
	for _, branch := range branches {
		tip := after[branch]
		old, existed := before[branch]
		if existed && old == tip {
			continue
		}
		rp.pushed, rp.updated = now, now
		if !existed {
			continue
		}
		for _, p := range rp.pulls {
			if p.state != "open" || p.headRef != branch {
				continue
			}
			p.head, p.updated = tip, now
			_ = s.setPullRef(p)
			evs = append(evs, s.pullEvent(r.Context(), p, "synchronize", id.user, map[string]any{"before": old.String(), "after": tip.String()}))
		}
	}
	s.mu.Unlock()
	s.deliverAll(r.Context(), evs)
}

func branchTips(rp *repo) map[string]plumbing.Hash {
	out := map[string]plumbing.Hash{}
	refs, err := rp.git.Branches()
	if err != nil {
		return out
	}
	defer refs.Close()
	_ = refs.ForEach(func(ref *plumbing.Reference) error {
		out[ref.Name().Short()] = ref.Hash()
		return nil
	})
	return out
}
