package payload

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/secrets"
)

// Config says where payloads are stored and which keys protect them.
type Config struct {
	// BucketURL is a gocloud.dev/blob URL: file:///abs/dir (the local
	// default; add ?create_dir=true to create the directory) or mem://.
	// s3://, gs:// and azblob:// work once their drivers are linked (see
	// drivers.go).
	BucketURL string
	// Keys maps a key id to a gocloud.dev/secrets keeper URL: base64key://…,
	// or awskms://, gcpkms://, azurekeyvault:// once linked (see drivers.go). Keep every key that wrapped a stored object here for as
	// long as the object is kept: objects are read with the key they name.
	Keys map[string]string
	// CurrentKey is the id of the key that wraps the data keys of new objects.
	CurrentKey string
}

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// validate checks the shape of cfg without opening anything. Keeper URLs never
// appear in its errors; neither do invalid key ids, which may be a keeper URL
// or raw key material put in the wrong place.
func (c Config) validate() error {
	var problems []string
	if strings.TrimSpace(c.BucketURL) == "" {
		problems = append(problems, "BucketURL is empty: set it to a gocloud.dev bucket URL such as file:///var/lib/prdeploy/payloads?create_dir=true")
	}
	if len(c.Keys) == 0 {
		problems = append(problems, "Keys is empty: configure at least one key id with its keeper URL (base64key://…, or a KMS keeper URL)")
	} else {
		for _, id := range sortedIDs(c.Keys) {
			if !keyIDPattern.MatchString(id) {
				problems = append(problems, fmt.Sprintf("Keys has an invalid key id %s: use 1 to 64 letters, digits, '.', '_' or '-' (Keys maps key id -> keeper URL)", describeID(id)))
				continue
			}
			if strings.TrimSpace(c.Keys[id]) == "" {
				problems = append(problems, fmt.Sprintf("Keys[%q] has an empty keeper URL", id))
			}
		}
		switch _, ok := c.Keys[c.CurrentKey]; {
		case c.CurrentKey == "":
			problems = append(problems, fmt.Sprintf("CurrentKey is empty: set it to the key id new payloads are wrapped with (configured: %s)", validIDs(c.Keys)))
		case !ok:
			problems = append(problems, fmt.Sprintf("CurrentKey %s is not one of the configured key ids (configured: %s)", describeID(c.CurrentKey), validIDs(c.Keys)))
		}
	}
	if len(problems) > 0 {
		return errors.New("payload config: " + strings.Join(problems, "; "))
	}
	return nil
}

// describeID quotes a valid key id; an invalid one is described by its
// length and first characters only.
func describeID(id string) string {
	if keyIDPattern.MatchString(id) {
		return strconv.Quote(id)
	}
	head := id
	if r := []rune(id); len(r) > 3 {
		head = string(r[:3])
	}
	return fmt.Sprintf("(%d characters, starting %q; not shown in full)", len(id), head)
}

func validIDs(keys map[string]string) string {
	var ids []string
	for _, id := range sortedIDs(keys) {
		if keyIDPattern.MatchString(id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return "none valid"
	}
	return strings.Join(ids, ", ")
}

func sortedIDs(keys map[string]string) []string {
	ids := make([]string, 0, len(keys))
	for id := range keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// keeper is an open keeper with a function that removes its URL from error
// text (a KMS error may quote the key's resource name; a base64key URL is the
// key itself).
type keeper struct {
	*secrets.Keeper
	redact func(msg string) string
}

// openKeeper opens the keeper for one key id. The URL, and anything derived
// from it, is kept out of the returned error.
func openKeeper(ctx context.Context, id, rawURL string) (*keeper, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("payload config: Keys[%q]: "+format, append([]any{id}, args...)...)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fail("the keeper URL does not parse as a URL (it is not shown: it may contain key material)")
	}
	scheme := strings.ToLower(u.Scheme)
	mux := secrets.DefaultURLMux()
	switch {
	case scheme == "":
		return nil, fail("the keeper URL has no scheme: write it as <scheme>://…, with a scheme among %s", strings.Join(mux.KeeperSchemes(), ", "))
	case !mux.ValidKeeperScheme(scheme):
		return nil, fail("keeper scheme %q is not supported by this build (supported: %s)", scheme, strings.Join(mux.KeeperSchemes(), ", "))
	case u.Opaque != "":
		return nil, fail("the keeper URL must have the form %s://…", scheme)
	case scheme == "base64key" && u.Host == "":
		// localsecrets would silently generate a random key, and every
		// object wrapped with it would be unreadable after a restart.
		return nil, fail("the base64key URL holds no key: write base64key://<32 random bytes in URL-safe base64>")
	}
	k, err := mux.OpenKeeperURL(ctx, u)
	if err != nil {
		return nil, fail("open %s keeper: %s", scheme, redact(err.Error(), rawURL, u))
	}
	return &keeper{Keeper: k, redact: func(msg string) string { return redact(msg, rawURL, u) }}, nil
}

// redact removes every piece of a keeper URL from msg.
func redact(msg, rawURL string, u *url.URL) string {
	pieces := []string{
		rawURL, u.String(), u.Redacted(),
		u.Host + u.Path, u.Host + u.EscapedPath(), u.Host, u.Opaque, u.Path, u.RawPath, u.RawQuery, u.Fragment,
	}
	if u.User != nil {
		pieces = append(pieces, u.User.String(), u.User.Username())
		if p, ok := u.User.Password(); ok {
			pieces = append(pieces, p)
		}
	}
	for _, vs := range u.Query() {
		pieces = append(pieces, vs...)
	}
	// Longest first, so that a piece inside a longer one does not leave the
	// rest of the longer one behind.
	slices.SortFunc(pieces, func(a, b string) int { return len(b) - len(a) })
	for _, p := range pieces {
		if len(p) >= 4 {
			msg = strings.ReplaceAll(msg, p, "[redacted]")
			msg = strings.ReplaceAll(msg, url.QueryEscape(p), "[redacted]")
		}
	}
	for strings.Contains(msg, "[redacted][redacted]") {
		msg = strings.ReplaceAll(msg, "[redacted][redacted]", "[redacted]")
	}
	return msg
}

// openBucket opens the bucket, with errors naming the URL (without any
// password it may carry) and the supported schemes.
func openBucket(ctx context.Context, rawURL string) (*blob.Bucket, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("payload config: BucketURL is not a URL: %w", err)
	}
	shown := u.Redacted()
	scheme := strings.ToLower(u.Scheme)
	mux := blob.DefaultURLMux()
	switch {
	case scheme == "":
		return nil, fmt.Errorf("payload config: BucketURL %q has no scheme: use file:///abs/dir or mem:// (supported: %s)", shown, strings.Join(mux.BucketSchemes(), ", "))
	case !mux.ValidBucketScheme(scheme):
		return nil, fmt.Errorf("payload config: BucketURL %q: scheme %q is not supported by this build (supported: %s)", shown, scheme, strings.Join(mux.BucketSchemes(), ", "))
	}
	b, err := mux.OpenBucketURL(ctx, u)
	if err != nil {
		if scheme == "file" && errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("payload config: BucketURL %q: %w (create the directory, or add ?create_dir=true to the URL)", shown, err)
		}
		return nil, fmt.Errorf("payload config: BucketURL %q: %w", shown, err)
	}
	return b, nil
}
