package payload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"

	"gocloud.dev/gcerrors"
	"gocloud.dev/secrets"
	"gocloud.dev/secrets/driver"
	"gocloud.dev/secrets/localsecrets"
)

// fakeKMS stands in for a cloud KMS: it wraps with a fixed local key, can be
// made to fail, and its errors quote the key's resource name the way cloud
// KMS errors do.
type fakeKMS struct {
	mu    sync.Mutex
	fail  error
	inner *secrets.Keeper
}

var errDenied = errors.New("permission denied")

func (f *fakeKMS) setFailure(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

func (f *fakeKMS) failure() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fail
}

type fakeKMSKeeper struct {
	kms      *fakeKMS
	resource string
}

func (k *fakeKMSKeeper) Encrypt(ctx context.Context, plaintext []byte) ([]byte, error) {
	if err := k.kms.failure(); err != nil {
		return nil, fmt.Errorf("encrypt with %s: %w", k.resource, err)
	}
	return k.kms.inner.Encrypt(ctx, plaintext)
}

func (k *fakeKMSKeeper) Decrypt(ctx context.Context, ciphertext []byte) ([]byte, error) {
	if err := k.kms.failure(); err != nil {
		return nil, fmt.Errorf("decrypt with %s: %w", k.resource, err)
	}
	return k.kms.inner.Decrypt(ctx, ciphertext)
}

func (k *fakeKMSKeeper) Close() error            { return nil }
func (k *fakeKMSKeeper) ErrorAs(error, any) bool { return false }
func (k *fakeKMSKeeper) ErrorCode(err error) gcerrors.ErrorCode {
	if errors.Is(err, errDenied) {
		return gcerrors.PermissionDenied
	}
	return gcerrors.Unknown
}

var _ driver.Keeper = (*fakeKMSKeeper)(nil)

type keeperOpener func(ctx context.Context, u *url.URL) (*secrets.Keeper, error)

func (f keeperOpener) OpenKeeperURL(ctx context.Context, u *url.URL) (*secrets.Keeper, error) {
	return f(ctx, u)
}

var testKMS = func() *fakeKMS {
	k, err := localsecrets.NewRandomKey()
	if err != nil {
		panic(err)
	}
	return &fakeKMS{inner: localsecrets.NewKeeper(k)}
}()

func init() {
	// Test-only schemes on the default mux, which is what Open uses.
	secrets.DefaultURLMux().RegisterKeeper("fakekms", keeperOpener(func(_ context.Context, u *url.URL) (*secrets.Keeper, error) {
		return secrets.NewKeeper(&fakeKMSKeeper{kms: testKMS, resource: u.Host + u.Path}), nil
	}))
	secrets.DefaultURLMux().RegisterKeeper("leakykeeper", keeperOpener(func(_ context.Context, u *url.URL) (*secrets.Keeper, error) {
		return nil, fmt.Errorf("cannot reach %s (host %s)", u, u.Host)
	}))
}

func TestKeeperFailures(t *testing.T) {
	ctx := context.Background()
	const kmsURL = "fakekms://projects/p/locations/eu/keyRings/prod/cryptoKeys/payloads"
	s := openDir(t, t.TempDir(), "kms", map[string]string{"kms": kmsURL})
	key := ObjectKey("c1", "d1", "acme", "api", sha(manifest))
	ref, err := s.Put(ctx, key, manifest)
	if err != nil {
		t.Fatal(err)
	}
	defer testKMS.setFailure(nil)

	t.Run("outage is retryable", func(t *testing.T) {
		testKMS.setFailure(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")})
		_, err := s.Get(ctx, ref)
		if err == nil {
			t.Fatal("Get succeeded while the KMS is down")
		}
		if isPermanent(err) {
			t.Errorf("KMS outage is permanent: %v", err)
		}
		if want := "payload " + key + `: unwrap the data key with key "kms": `; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error %q does not start with %q", err, want)
		}
		if strings.Contains(err.Error(), "projects/p") {
			t.Errorf("error quotes the keeper URL: %v", err)
		}
		testKMS.setFailure(nil)
		if got, err := s.Get(ctx, ref); err != nil || !bytes.Equal(got, manifest) {
			t.Errorf("Get after the outage = %q, %v", got, err)
		}
	})
	t.Run("denied is permanent and says why", func(t *testing.T) {
		testKMS.setFailure(errDenied)
		_, err := s.Get(ctx, ref)
		wantPermanent(t, err, "payload "+key+`: cannot decrypt with key "kms": the data key does not unwrap: secrets (code=PermissionDenied): decrypt with [redacted]: permission denied`)
	})
	t.Run("put refused is permanent", func(t *testing.T) {
		testKMS.setFailure(errDenied)
		_, err := s.Put(ctx, key, manifest)
		wantPermanent(t, err, "payload "+key+`: wrap the data key with key "kms": secrets (code=PermissionDenied): encrypt with [redacted]: permission denied`)
	})
	t.Run("put during an outage is retryable", func(t *testing.T) {
		testKMS.setFailure(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")})
		_, err := s.Put(ctx, key, manifest)
		if err == nil || isPermanent(err) {
			t.Fatalf("Put error = %v, want a retryable error", err)
		}
		if strings.Contains(err.Error(), "projects/p") {
			t.Errorf("error quotes the keeper URL: %v", err)
		}
	})
}

func TestOpenConfigErrors(t *testing.T) {
	secret := newKeyURL(t)
	missingDir := t.TempDir() + "/missing"
	for _, tc := range []struct {
		name   string
		cfg    Config
		want   string // exact message, or a prefix when prefix is set
		prefix bool
	}{
		{
			name: "no bucket",
			cfg:  Config{Keys: map[string]string{"k1": secret}, CurrentKey: "k1"},
			want: "payload config: BucketURL is empty: set it to a gocloud.dev bucket URL such as file:///var/lib/prdeploy/payloads?create_dir=true",
		},
		{
			name: "no keys",
			cfg:  Config{BucketURL: "mem://"},
			want: "payload config: Keys is empty: configure at least one key id with its keeper URL (base64key://…, or a KMS keeper URL)",
		},
		{
			name: "everything missing",
			cfg:  Config{},
			want: "payload config: BucketURL is empty: set it to a gocloud.dev bucket URL such as file:///var/lib/prdeploy/payloads?create_dir=true; Keys is empty: configure at least one key id with its keeper URL (base64key://…, or a KMS keeper URL)",
		},
		{
			name: "no current key",
			cfg:  Config{BucketURL: "mem://", Keys: map[string]string{"k1": secret}},
			want: "payload config: CurrentKey is empty: set it to the key id new payloads are wrapped with (configured: k1)",
		},
		{
			name: "current key not configured",
			cfg:  Config{BucketURL: "mem://", Keys: map[string]string{"k2": secret, "k1": newKeyURL(t)}, CurrentKey: "k3"},
			want: `payload config: CurrentKey "k3" is not one of the configured key ids (configured: k1, k2)`,
		},
		{
			name: "keys map written the wrong way round",
			cfg:  Config{BucketURL: "mem://", Keys: map[string]string{secret: "k1"}, CurrentKey: "k1"},
			want: fmt.Sprintf(`payload config: Keys has an invalid key id (%d characters, starting "bas"; not shown in full): use 1 to 64 letters, digits, '.', '_' or '-' (Keys maps key id -> keeper URL); CurrentKey "k1" is not one of the configured key ids (configured: none valid)`, len(secret)),
		},
		{
			name: "current key set to a keeper URL",
			cfg:  Config{BucketURL: "mem://", Keys: map[string]string{"k1": secret}, CurrentKey: secret},
			want: fmt.Sprintf(`payload config: CurrentKey (%d characters, starting "bas"; not shown in full) is not one of the configured key ids (configured: k1)`, len(secret)),
		},
		{
			name: "empty keeper URL",
			cfg:  Config{BucketURL: "mem://", Keys: map[string]string{"k1": ""}, CurrentKey: "k1"},
			want: `payload config: Keys["k1"] has an empty keeper URL`,
		},
		{
			name:   "bad key material",
			cfg:    Config{BucketURL: "mem://", Keys: map[string]string{"k1": "base64key://c2VjcmV0LWJ1dC10b28tc2hvcnQ"}, CurrentKey: "k1"},
			want:   `payload config: Keys["k1"]: open base64key keeper: open keeper base64key: failed to get key: `,
			prefix: true,
		},
		{
			name: "base64key without a key",
			cfg:  Config{BucketURL: "mem://", Keys: map[string]string{"k1": "base64key://"}, CurrentKey: "k1"},
			want: `payload config: Keys["k1"]: the base64key URL holds no key: write base64key://<32 random bytes in URL-safe base64>`,
		},
		{
			name: "unsupported keeper scheme",
			cfg:  Config{BucketURL: "mem://", Keys: map[string]string{"k1": "vault://token-s3cr3t@vault.internal/transit/keys/k1"}, CurrentKey: "k1"},
			want: `payload config: Keys["k1"]: keeper scheme "vault" is not supported by this build (supported: base64key, fakekms, leakykeeper)`,
		},
		{
			name: "raw key without scheme",
			cfg:  Config{BucketURL: "mem://", Keys: map[string]string{"k1": strings.TrimPrefix(secret, "base64key://")}, CurrentKey: "k1"},
			want: `payload config: Keys["k1"]: the keeper URL has no scheme: write it as <scheme>://…, with a scheme among base64key, fakekms, leakykeeper`,
		},
		{
			name: "unparsable keeper URL",
			cfg:  Config{BucketURL: "mem://", Keys: map[string]string{"k1": "base64key://%zz" + strings.TrimPrefix(secret, "base64key://")}, CurrentKey: "k1"},
			want: `payload config: Keys["k1"]: the keeper URL does not parse as a URL (it is not shown: it may contain key material)`,
		},
		{
			name: "keeper error quoting its URL",
			cfg:  Config{BucketURL: "mem://", Keys: map[string]string{"k1": "leakykeeper://vault.internal/transit/keys/payloads?token=s3cr3t-token"}, CurrentKey: "k1"},
			want: `payload config: Keys["k1"]: open leakykeeper keeper: cannot reach [redacted] (host [redacted])`,
		},
		{
			name: "unsupported bucket scheme",
			cfg:  Config{BucketURL: "nope://bucket", Keys: map[string]string{"k1": secret}, CurrentKey: "k1"},
			want: `payload config: BucketURL "nope://bucket": scheme "nope" is not supported by this build (supported: file, mem)`,
		},
		{
			name: "bucket path without scheme",
			cfg:  Config{BucketURL: "/var/lib/prdeploy", Keys: map[string]string{"k1": secret}, CurrentKey: "k1"},
			want: `payload config: BucketURL "/var/lib/prdeploy" has no scheme: use file:///abs/dir or mem:// (supported: file, mem)`,
		},
		{
			name: "unparsable bucket URL",
			cfg:  Config{BucketURL: "file://%zz", Keys: map[string]string{"k1": secret}, CurrentKey: "k1"},
			want: `payload config: BucketURL is not a URL: invalid URL escape "%zz"`,
		},
		{
			name:   "bucket directory missing",
			cfg:    Config{BucketURL: "file://" + missingDir, Keys: map[string]string{"k1": secret}, CurrentKey: "k1"},
			want:   fmt.Sprintf(`payload config: BucketURL "file://%s": `, missingDir),
			prefix: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(context.Background(), tc.cfg)
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded, want %q", tc.want)
			}
			msg := err.Error()
			if tc.prefix && !strings.HasPrefix(msg, tc.want) || !tc.prefix && msg != tc.want {
				t.Errorf("error:\n got %q\nwant %q", msg, tc.want)
			}
			for id, keeperURL := range tc.cfg.Keys {
				for _, secretText := range secretParts(id, keeperURL, tc.cfg.CurrentKey) {
					if strings.Contains(msg, secretText) {
						t.Errorf("error %q holds keeper URL text %q", msg, secretText)
					}
				}
			}
		})
	}
}

// secretParts lists the pieces of keeper URLs (found as values, or by
// mistake as key ids) that must never appear in an error.
func secretParts(values ...string) []string {
	var out []string
	for _, v := range values {
		if !strings.Contains(v, "://") && len(v) < 40 {
			continue // a plain key id such as "k1"
		}
		_, rest, hasScheme := strings.Cut(v, "://")
		if hasScheme && rest == "" {
			continue // "base64key://": no key material to leak
		}
		out = append(out, v)
		if hasScheme {
			out = append(out, rest)
			if host, _, _ := strings.Cut(rest, "/"); len(host) >= 4 {
				out = append(out, host)
			}
		}
	}
	return append(out, "s3cr3t", "c2VjcmV0")
}

func TestOpenMissingDirHint(t *testing.T) {
	dir := t.TempDir() + "/missing"
	_, err := Open(context.Background(), Config{BucketURL: "file://" + dir, Keys: map[string]string{"k1": newKeyURL(t)}, CurrentKey: "k1"})
	if err == nil || !strings.HasSuffix(err.Error(), "(create the directory, or add ?create_dir=true to the URL)") {
		t.Errorf("error = %v, want the create_dir hint", err)
	}
	s := openDir(t, dir+"?create_dir=true", "k1", map[string]string{"k1": newKeyURL(t)})
	if _, err := s.Put(context.Background(), "deploys/x", manifest); err != nil {
		t.Errorf("Put into the created directory: %v", err)
	}
}
