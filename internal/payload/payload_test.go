package payload

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gocloud.dev/gcerrors"
	"gocloud.dev/secrets/localsecrets"

	"github.com/prdeploy/prdeploy/workflows"
)

// newKeyURL returns a base64key:// keeper URL holding a fresh random key.
func newKeyURL(t testing.TB) string {
	t.Helper()
	k, err := localsecrets.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	return "base64key://" + base64.URLEncoding.EncodeToString(k[:])
}

// openDir opens a Store on a file:// bucket rooted at dir.
func openDir(t testing.TB, dir, current string, keys map[string]string) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{BucketURL: "file://" + dir, Keys: keys, CurrentKey: current})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func sha(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func isPermanent(err error) bool {
	return errors.As(err, &workflows.PermanentError{})
}

// wantPermanent checks the exact message and that the error is non-retryable.
func wantPermanent(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %q", want)
	}
	if err.Error() != want {
		t.Errorf("error:\n got %q\nwant %q", err.Error(), want)
	}
	if !isPermanent(err) {
		t.Errorf("error %q is retryable, want workflows.Permanent", err)
	}
}

var manifest = []byte(`apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  password: hunter2-very-secret
`)

func TestPutGetRoundTrip(t *testing.T) {
	for _, bucket := range []string{"file", "mem"} {
		t.Run(bucket, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			url := "mem://"
			if bucket == "file" {
				url = "file://" + dir
			}
			s, err := Open(ctx, Config{BucketURL: url, Keys: map[string]string{"k1": newKeyURL(t)}, CurrentKey: "k1"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()

			for _, tc := range []struct {
				name string
				data []byte
			}{
				{"manifest", manifest},
				{"empty", []byte{}},
				{"5MiB", randomBytes(t, 5<<20)},
			} {
				t.Run(tc.name, func(t *testing.T) {
					key := ObjectKey("c1", "d1", "acme", tc.name, sha(tc.data))
					ref, err := s.Put(ctx, key, tc.data)
					if err != nil {
						t.Fatalf("Put: %v", err)
					}
					want := Ref{Key: key, Digest: sha(tc.data), Size: int64(len(tc.data)), KeyID: "k1"}
					if ref != want {
						t.Errorf("Put ref = %+v, want %+v", ref, want)
					}
					got, err := s.Get(ctx, ref)
					if err != nil {
						t.Fatalf("Get: %v", err)
					}
					if !bytes.Equal(got, tc.data) {
						t.Errorf("Get returned %d bytes that differ from the %d put", len(got), len(tc.data))
					}
				})
			}
		})
	}
}

func TestStoredObjectHoldsNoPlaintext(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openDir(t, dir, "k1", map[string]string{"k1": newKeyURL(t)})
	key := ObjectKey("c1", "d1", "acme", "db", sha(manifest))
	if _, err := s.Put(ctx, key, manifest); err != nil {
		t.Fatal(err)
	}
	var files int
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(raw, []byte("hunter2")) || bytes.Contains(raw, []byte("kind: Secret")) {
			t.Errorf("%s holds plaintext", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("no object written")
	}
}

func TestPutIsIdempotent(t *testing.T) {
	ctx := context.Background()
	s := openDir(t, t.TempDir(), "k1", map[string]string{"k1": newKeyURL(t)})
	key := ObjectKey("c1", "d1", "acme", "api", sha(manifest))
	first, err := s.Put(ctx, key, manifest)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.Put(ctx, key, manifest)
	if err != nil {
		t.Fatalf("second Put: %v", err)
	}
	if first != second {
		t.Errorf("refs differ: %+v then %+v", first, second)
	}
	for _, ref := range []Ref{first, second} {
		if got, err := s.Get(ctx, ref); err != nil || !bytes.Equal(got, manifest) {
			t.Errorf("Get(%+v) = %q, %v", ref, got, err)
		}
	}
}

func TestRefJSON(t *testing.T) {
	b, err := json.Marshal(Ref{Key: "deploys/c/d/t/s/ab", Digest: "ab", Size: 3, KeyID: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"key":"deploys/c/d/t/s/ab","sha256":"ab","size":3,"keyId":"k1"}`
	if string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
}

func TestLookup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openDir(t, dir, "k1", map[string]string{"k1": newKeyURL(t)})
	key := ObjectKey("c1", "d1", "acme", "api", sha(manifest))
	put, err := s.Put(ctx, key, manifest)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("found", func(t *testing.T) {
		got, ok, err := s.Lookup(ctx, key)
		if err != nil || !ok {
			t.Fatalf("Lookup = %+v, %v, %v", got, ok, err)
		}
		if got != put {
			t.Errorf("Lookup = %+v, want %+v", got, put)
		}
	})
	t.Run("not found", func(t *testing.T) {
		got, ok, err := s.Lookup(ctx, ObjectKey("c1", "d1", "acme", "web", sha(manifest)))
		if err != nil || ok || got != (Ref{}) {
			t.Errorf("Lookup = %+v, %v, %v; want zero Ref, false, nil", got, ok, err)
		}
	})
	t.Run("foreign object", func(t *testing.T) {
		// Written behind the store's back: no metadata sidecar.
		if err := os.WriteFile(filepath.Join(dir, "stray"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, ok, err := s.Lookup(ctx, "stray")
		if ok {
			t.Error("Lookup found a payload in a foreign object")
		}
		wantPermanent(t, err, "payload stray: the object has no payload metadata (sha256, size, keyid): it was not written by this store, or the bucket drops metadata (file:// with metadata=skip)")
	})
}

func TestGetMissing(t *testing.T) {
	s := openDir(t, t.TempDir(), "k1", map[string]string{"k1": newKeyURL(t)})
	key := ObjectKey("c1", "d1", "acme", "api", sha(manifest))
	_, err := s.Get(context.Background(), Ref{Key: key, Digest: sha(manifest), Size: int64(len(manifest)), KeyID: "k1"})
	wantPermanent(t, err, "payload "+key+": not found")
	if !errors.Is(err, ErrNotFound) {
		t.Error("errors.Is(err, ErrNotFound) = false")
	}
	if code := gcerrors.Code(err); code != gcerrors.NotFound {
		t.Errorf("gcerrors.Code = %v, want NotFound", code)
	}
}

func TestGetWrongKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writer := openDir(t, dir, "k1", map[string]string{"k1": newKeyURL(t)})
	key := ObjectKey("c1", "d1", "acme", "api", sha(manifest))
	ref, err := writer.Put(ctx, key, manifest)
	if err != nil {
		t.Fatal(err)
	}
	// Same id, different key material.
	reader := openDir(t, dir, "k1", map[string]string{"k1": newKeyURL(t)})
	got, err := reader.Get(ctx, ref)
	if got != nil {
		t.Errorf("Get returned %d bytes with the wrong key", len(got))
	}
	wantPermanent(t, err, "payload "+key+`: cannot decrypt with key "k1": the data key does not unwrap: wrong key material for this key id, or the object header was altered`)
}

func TestKeyRotation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	k1, k2 := newKeyURL(t), newKeyURL(t)
	oldKey := ObjectKey("c1", "d1", "acme", "api", sha(manifest))
	newData := []byte("kind: ConfigMap\n")
	newKey := ObjectKey("c1", "d2", "acme", "api", sha(newData))

	before := openDir(t, dir, "k1", map[string]string{"k1": k1})
	oldRef, err := before.Put(ctx, oldKey, manifest)
	if err != nil {
		t.Fatal(err)
	}
	if oldRef.KeyID != "k1" {
		t.Fatalf("old ref names key %q, want k1", oldRef.KeyID)
	}

	rotated := openDir(t, dir, "k2", map[string]string{"k1": k1, "k2": k2})
	t.Run("old object still decrypts", func(t *testing.T) {
		got, err := rotated.Get(ctx, oldRef)
		if err != nil || !bytes.Equal(got, manifest) {
			t.Fatalf("Get = %q, %v", got, err)
		}
	})
	newRef, err := rotated.Put(ctx, newKey, newData)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("new objects name the new key", func(t *testing.T) {
		if newRef.KeyID != "k2" {
			t.Errorf("Put ref names key %q, want k2", newRef.KeyID)
		}
		looked, ok, err := rotated.Lookup(ctx, newKey)
		if err != nil || !ok || looked.KeyID != "k2" {
			t.Errorf("Lookup = %+v, %v, %v; want key k2", looked, ok, err)
		}
		if got, err := rotated.Get(ctx, newRef); err != nil || !bytes.Equal(got, newData) {
			t.Errorf("Get = %q, %v", got, err)
		}
	})

	dropped := openDir(t, dir, "k2", map[string]string{"k2": k2})
	t.Run("dropped key is named", func(t *testing.T) {
		_, err := dropped.Get(ctx, oldRef)
		wantPermanent(t, err, "payload "+oldKey+`: cannot decrypt with key "k1": the key id is not configured (configured: k2); keep every key that wrapped a stored payload in the payload keys until those payloads are deleted`)
		if strings.Contains(err.Error(), k1) || strings.Contains(err.Error(), k2) {
			t.Error("the error holds a keeper URL")
		}
		if got, err := dropped.Get(ctx, newRef); err != nil || !bytes.Equal(got, newData) {
			t.Errorf("Get of the k2 object = %q, %v", got, err)
		}
	})
}

func TestGetTamperedObject(t *testing.T) {
	// Layout with key id "k1" and a localsecrets-wrapped data key (72 bytes):
	// magic 0-3, version 4, id length 5, id 6-7, digest 8-39,
	// wrapped length 40-41, wrapped key 42-113, nonce 114-125, ciphertext 126-.
	const (
		offVersion = 4
		offID      = 6
		offDigest  = 8
		offWrapped = 42
		offNonce   = 114
	)
	notAuthentic := `: cannot decrypt with key "k1": the payload does not authenticate: the object or its header was altered`
	for _, tc := range []struct {
		name   string
		tamper func(obj []byte) []byte
		want   string // after "payload <key>"
	}{
		{"ciphertext", func(o []byte) []byte { o[len(o)-1] ^= 1; return o }, notAuthentic},
		{"ciphertext start", func(o []byte) []byte { o[offNonce+nonceSize] ^= 0x80; return o }, notAuthentic},
		{"nonce", func(o []byte) []byte { o[offNonce] ^= 1; return o }, notAuthentic},
		{"digest in header", func(o []byte) []byte { o[offDigest] ^= 1; return o }, notAuthentic},
		{"wrapped key", func(o []byte) []byte { o[offWrapped+30] ^= 1; return o },
			`: cannot decrypt with key "k1": the data key does not unwrap: wrong key material for this key id, or the object header was altered`},
		{"key id renamed to another configured key", func(o []byte) []byte { o[offID+1] = '2'; return o },
			`: cannot decrypt with key "k2": the data key does not unwrap: wrong key material for this key id, or the object header was altered`},
		{"magic", func(o []byte) []byte { o[0] = 'X'; return o },
			`: cannot decrypt with key "k1": malformed object header: no "PRDP" magic: the object was not written by prdeploy or was altered`},
		{"version", func(o []byte) []byte { o[offVersion] = 9; return o },
			`: cannot decrypt with key "k1": malformed object header: format version 9 is not supported (this build reads version 1)`},
		{"truncated", func(o []byte) []byte { return o[:offWrapped+10] },
			`: cannot decrypt with key "k1": malformed object header: the object ends inside the wrapped key (52 bytes in all): it was truncated or was not written by prdeploy`},
		{"ciphertext cut", func(o []byte) []byte { return o[:len(o)-5] }, notAuthentic},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			s := openDir(t, dir, "k1", map[string]string{"k1": newKeyURL(t), "k2": newKeyURL(t)})
			key := ObjectKey("c1", "d1", "acme", "api", sha(manifest))
			ref, err := s.Put(ctx, key, manifest)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, filepath.FromSlash(key))
			obj, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := obj[offWrapped-2 : offWrapped]; got[0] != 0 || got[1] != 72 {
				t.Fatalf("wrapped key length bytes = %v, the layout in this test is out of date", got)
			}
			if err := os.WriteFile(path, tc.tamper(obj), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, ref)
			if got != nil {
				t.Errorf("Get returned %d bytes from a tampered object", len(got))
			}
			wantPermanent(t, err, "payload "+key+tc.want)
		})
	}
}

func TestGetTamperedRef(t *testing.T) {
	ctx := context.Background()
	s := openDir(t, t.TempDir(), "k1", map[string]string{"k1": newKeyURL(t)})
	key := ObjectKey("c1", "d1", "acme", "api", sha(manifest))
	ref, err := s.Put(ctx, key, manifest)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("digest", func(t *testing.T) {
		bad := ref
		bad.Digest = strings.Repeat("0", 64)
		got, err := s.Get(ctx, bad)
		if got != nil {
			t.Error("Get returned data for a mismatching digest")
		}
		wantPermanent(t, err, "payload "+key+": sha256 "+ref.Digest+" does not match the reference's "+bad.Digest+": the payload was changed after it was stored; nothing from it is applied")
	})
	t.Run("size", func(t *testing.T) {
		bad := ref
		bad.Size++
		_, err := s.Get(ctx, bad)
		wantPermanent(t, err, fmt.Sprintf("payload %s: size %d does not match the reference's %d: the reference was altered; nothing from it is applied", key, len(manifest), len(manifest)+1))
	})
	t.Run("object replaced", func(t *testing.T) {
		// A valid object, but not the one the reference was made for.
		other := []byte("kind: Namespace\n")
		if _, err := s.Put(ctx, key, other); err != nil {
			t.Fatal(err)
		}
		_, err := s.Get(ctx, ref)
		wantPermanent(t, err, "payload "+key+": sha256 "+sha(other)+" does not match the reference's "+ref.Digest+": the payload was changed after it was stored; nothing from it is applied")
	})
	t.Run("no key", func(t *testing.T) {
		_, err := s.Get(ctx, Ref{})
		wantPermanent(t, err, "payload: the object key is empty")
	})
}

func TestDeletePrefixAndListPrefixes(t *testing.T) {
	ctx := context.Background()
	s := openDir(t, t.TempDir(), "k1", map[string]string{"k1": newKeyURL(t)})
	put := func(cluster, id, tenant, service string) string {
		t.Helper()
		data := []byte(cluster + id + tenant + service)
		key := ObjectKey(cluster, id, tenant, service, sha(data))
		if _, err := s.Put(ctx, key, data); err != nil {
			t.Fatal(err)
		}
		return key
	}
	d1 := []string{put("c1", "d1", "acme", "api"), put("c1", "d1", "acme", "web"), put("c1", "d1", "globex", "api")}
	d10 := put("c1", "d10", "acme", "api")
	put("c1", "d2", "acme", "api")
	put("c1", "d2", "globex", "api")
	otherCluster := put("c2", "d1", "acme", "api")

	list := func(prefix string) []string {
		t.Helper()
		got, err := s.ListPrefixes(ctx, prefix, "/")
		if err != nil {
			t.Fatalf("ListPrefixes(%q): %v", prefix, err)
		}
		return got
	}
	if got, want := list("deploys/"), []string{"deploys/c1/", "deploys/c2/"}; !slices.Equal(got, want) {
		t.Errorf("clusters = %q, want %q", got, want)
	}
	if got, want := list("deploys/c1/"), []string{"deploys/c1/d1/", "deploys/c1/d10/", "deploys/c1/d2/"}; !slices.Equal(got, want) {
		t.Errorf("deployments = %q, want %q", got, want)
	}
	if got, want := list("deploys/c1/d1/"), []string{"deploys/c1/d1/acme/", "deploys/c1/d1/globex/"}; !slices.Equal(got, want) {
		t.Errorf("tenants = %q, want %q", got, want)
	}
	if got := list("deploys/c9/"); len(got) != 0 {
		t.Errorf("unknown cluster lists %q", got)
	}

	n, err := s.DeletePrefix(ctx, "deploys/c1/d1/")
	if err != nil || n != 3 {
		t.Fatalf("DeletePrefix = %d, %v; want 3, nil", n, err)
	}
	for _, key := range d1 {
		if _, ok, err := s.Lookup(ctx, key); ok || err != nil {
			t.Errorf("%s after delete: found=%v err=%v", key, ok, err)
		}
	}
	for _, key := range []string{d10, otherCluster} {
		if _, ok, err := s.Lookup(ctx, key); !ok || err != nil {
			t.Errorf("%s was deleted too (found=%v err=%v)", key, ok, err)
		}
	}
	if got, want := list("deploys/c1/"), []string{"deploys/c1/d10/", "deploys/c1/d2/"}; !slices.Equal(got, want) {
		t.Errorf("deployments after delete = %q, want %q", got, want)
	}
	if n, err := s.DeletePrefix(ctx, "deploys/c1/d1/"); err != nil || n != 0 {
		t.Errorf("second DeletePrefix = %d, %v; want 0, nil", n, err)
	}

	t.Run("empty prefix refused", func(t *testing.T) {
		n, err := s.DeletePrefix(ctx, "")
		if n != 0 {
			t.Errorf("deleted %d", n)
		}
		wantPermanent(t, err, "payload: DeletePrefix refuses an empty prefix: it would delete every object in the bucket")
		if _, ok, _ := s.Lookup(ctx, d10); !ok {
			t.Error("objects were deleted")
		}
	})
	t.Run("no delimiter", func(t *testing.T) {
		_, err := s.ListPrefixes(ctx, "deploys/", "")
		wantPermanent(t, err, `payload: ListPrefixes needs a delimiter, such as "/"`)
	})
}

func TestObjectKey(t *testing.T) {
	for _, tc := range []struct {
		cluster, id, tenant, service, digest string
		want                                 string
	}{
		{"eu-1", "2024-06-api", "acme", "api", "ab12", "deploys/eu-1/2024-06-api/acme/api/ab12"},
		{"eu-1", "a/b", "acme", "api", "ab12", "deploys/eu-1/a%2Fb/acme/api/ab12"},
	} {
		if got := ObjectKey(tc.cluster, tc.id, tc.tenant, tc.service, tc.digest); got != tc.want {
			t.Errorf("ObjectKey(%q, %q, %q, %q, %q) = %q, want %q", tc.cluster, tc.id, tc.tenant, tc.service, tc.digest, got, tc.want)
		}
	}
}

func BenchmarkPutGet1MiB(b *testing.B) {
	ctx := context.Background()
	s := openDir(b, b.TempDir(), "k1", map[string]string{"k1": newKeyURL(b)})
	data := randomBytes(b, 1<<20)
	ref, err := s.Put(ctx, "bench/warmup", data)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data))) // MB/s of payload that went in and came back out
	for b.Loop() {
		if _, err := s.Put(ctx, ref.Key, data); err != nil {
			b.Fatal(err)
		}
		got, err := s.Get(ctx, ref)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != len(data) {
			b.Fatalf("got %d bytes", len(got))
		}
	}
}
