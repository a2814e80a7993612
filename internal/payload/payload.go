package payload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/prdeploy/prdeploy/workflows"
)

// Ref names a stored payload. It is small and safe to keep in workflow
// histories: it holds no plaintext and no key material.
type Ref struct {
	Key    string `json:"key"`    // object key in the bucket
	Digest string `json:"sha256"` // hex SHA-256 of the PLAINTEXT
	Size   int64  `json:"size"`   // plaintext size
	KeyID  string `json:"keyId"`  // id of the key that wrapped the data key
}

// Blob metadata written with every object, so that Lookup needs no key.
const (
	metaDigest = "sha256"
	metaSize   = "size"
	metaKeyID  = "keyid"
)

// Store keeps encrypted payloads in a bucket. It is safe for concurrent use.
type Store struct {
	bucket  *blob.Bucket
	keepers map[string]*keeper
	current string
}

// Open validates cfg, opens every configured keeper and the bucket. Its errors
// name the field at fault and never contain a keeper URL.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Store{keepers: make(map[string]*keeper, len(cfg.Keys)), current: cfg.CurrentKey}
	for _, id := range sortedIDs(cfg.Keys) {
		k, err := openKeeper(ctx, id, cfg.Keys[id])
		if err != nil {
			s.Close()
			return nil, err
		}
		s.keepers[id] = k
	}
	b, err := openBucket(ctx, cfg.BucketURL)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.bucket = b
	return s, nil
}

// Close releases the bucket and the keepers.
func (s *Store) Close() error {
	var errs []error
	if s.bucket != nil {
		if err := s.bucket.Close(); err != nil {
			errs = append(errs, fmt.Errorf("payload: close bucket: %w", err))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(s.keepers)) {
		if err := s.keepers[id].Close(); err != nil {
			errs = append(errs, fmt.Errorf("payload: close key %q: %w", id, s.keepers[id].wrapErr(err)))
		}
	}
	return errors.Join(errs...)
}

// Put encrypts data under a fresh data key wrapped with the current key and
// stores it under key. Writing the same key again replaces the object; for the
// same content the returned Ref is the same.
func (s *Store) Put(ctx context.Context, key string, data []byte) (Ref, error) {
	if err := checkKey(key); err != nil {
		return Ref{}, err
	}
	sum := sha256.Sum256(data)
	ref := Ref{Key: key, Digest: hex.EncodeToString(sum[:]), Size: int64(len(data)), KeyID: s.current}

	dataKey, err := newDataKey()
	if err != nil {
		return Ref{}, fmt.Errorf("payload %s: %w", key, err)
	}
	defer wipe(dataKey)
	k := s.keepers[s.current]
	wrapped, err := k.Encrypt(ctx, dataKey)
	if err != nil {
		wrapErr := fmt.Errorf("payload %s: wrap the data key with key %q: %w", key, s.current, k.wrapErr(err))
		if refused(err) {
			return Ref{}, workflows.Permanent(wrapErr)
		}
		return Ref{}, wrapErr
	}
	if len(wrapped) > maxWrappedLen {
		return Ref{}, workflows.Permanent(fmt.Errorf("payload %s: key %q wraps a data key into %d bytes, more than the %d the object format holds", key, s.current, len(wrapped), maxWrappedLen))
	}
	obj, err := sealObject(header{keyID: s.current, digest: sum, wrapped: wrapped}, dataKey, data)
	if err != nil {
		return Ref{}, fmt.Errorf("payload %s: encrypt: %w", key, err)
	}
	err = s.bucket.WriteAll(ctx, key, obj, &blob.WriterOptions{
		ContentType: "application/octet-stream",
		Metadata: map[string]string{
			metaDigest: ref.Digest,
			metaSize:   strconv.FormatInt(ref.Size, 10),
			metaKeyID:  ref.KeyID,
		},
	})
	if err != nil {
		return Ref{}, storageErr(err, "payload %s: write", key)
	}
	return ref, nil
}

// Get reads, decrypts and verifies the payload ref names. Every error except
// a storage or keeper outage is permanent (workflows.Permanent): a missing,
// undecryptable or altered payload does not get better on retry.
func (s *Store) Get(ctx context.Context, ref Ref) ([]byte, error) {
	if err := checkKey(ref.Key); err != nil {
		return nil, err
	}
	obj, err := s.bucket.ReadAll(ctx, ref.Key)
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return nil, workflows.Permanent(&notFoundError{key: ref.Key, err: err})
		}
		return nil, storageErr(err, "payload %s: read", ref.Key)
	}

	h, aad, ciphertext, err := parseHeader(obj)
	if err != nil {
		id := h.keyID
		if id == "" {
			id = ref.KeyID
		}
		return nil, workflows.Permanent(&decryptError{key: ref.Key, keyID: id, reason: err.Error(), err: err})
	}
	k, ok := s.keepers[h.keyID]
	if !ok {
		return nil, workflows.Permanent(&decryptError{key: ref.Key, keyID: h.keyID, reason: fmt.Sprintf(
			"the key id is not configured (configured: %s); keep every key that wrapped a stored payload in the payload keys until those payloads are deleted",
			strings.Join(slices.Sorted(maps.Keys(s.keepers)), ", "))})
	}
	dataKey, err := k.Decrypt(ctx, h.wrapped)
	if err != nil {
		if transient(err) {
			return nil, fmt.Errorf("payload %s: unwrap the data key with key %q: %w", ref.Key, h.keyID, k.wrapErr(err))
		}
		reason := "the data key does not unwrap: wrong key material for this key id, or the object header was altered"
		if gcerrors.Code(err) != gcerrors.Unknown {
			reason = "the data key does not unwrap: " + k.redact(err.Error())
		}
		return nil, workflows.Permanent(&decryptError{key: ref.Key, keyID: h.keyID, reason: reason, err: k.wrapErr(err)})
	}
	defer wipe(dataKey)
	plain, err := openSealed(dataKey, h.nonce, aad, ciphertext)
	if err != nil {
		reason := "the payload does not authenticate: the object or its header was altered"
		if len(dataKey) != dataKeySize {
			reason = fmt.Sprintf("the unwrapped data key is %d bytes, want %d: the object was not written by prdeploy or was altered", len(dataKey), dataKeySize)
		}
		return nil, workflows.Permanent(&decryptError{key: ref.Key, keyID: h.keyID, reason: reason, err: err})
	}

	sum := sha256.Sum256(plain)
	got := hex.EncodeToString(sum[:])
	if !strings.EqualFold(got, ref.Digest) {
		return nil, workflows.Permanent(fmt.Errorf("payload %s: sha256 %s does not match the reference's %s: the payload was changed after it was stored; nothing from it is applied", ref.Key, got, ref.Digest))
	}
	if sum != h.digest {
		return nil, workflows.Permanent(fmt.Errorf("payload %s: sha256 %s does not match the object header's %s: the object was not written by prdeploy; nothing from it is applied", ref.Key, got, hex.EncodeToString(h.digest[:])))
	}
	// A reference carried in a workflow may hold only the key and digest
	// (the digest already pins the content); a size, when given, must match.
	if ref.Size != 0 && int64(len(plain)) != ref.Size {
		return nil, workflows.Permanent(fmt.Errorf("payload %s: size %d does not match the reference's %d: the reference was altered; nothing from it is applied", ref.Key, len(plain), ref.Size))
	}
	return plain, nil
}

// Lookup reports what was put under key, read from the object's metadata
// without decrypting. A missing object is (Ref{}, false, nil).
func (s *Store) Lookup(ctx context.Context, key string) (Ref, bool, error) {
	if err := checkKey(key); err != nil {
		return Ref{}, false, err
	}
	attrs, err := s.bucket.Attributes(ctx, key)
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return Ref{}, false, nil
		}
		return Ref{}, false, storageErr(err, "payload %s: read attributes", key)
	}
	md := attrs.Metadata
	digest, sizeText, keyID := md[metaDigest], md[metaSize], md[metaKeyID]
	if digest == "" || sizeText == "" || keyID == "" {
		return Ref{}, false, workflows.Permanent(fmt.Errorf("payload %s: the object has no payload metadata (%s, %s, %s): it was not written by this store, or the bucket drops metadata (file:// with metadata=skip)", key, metaDigest, metaSize, metaKeyID))
	}
	size, err := strconv.ParseInt(sizeText, 10, 64)
	if err != nil || size < 0 {
		return Ref{}, false, workflows.Permanent(fmt.Errorf("payload %s: the object's %s metadata %q is not a size", key, metaSize, sizeText))
	}
	return Ref{Key: key, Digest: digest, Size: size, KeyID: keyID}, true, nil
}

// DeletePrefix deletes every object whose key starts with prefix and returns
// how many it deleted. End the prefix with "/" to delete one deployment:
// "deploys/c1/d1" also matches "deploys/c1/d10/…". An empty prefix is refused.
// Objects that disappear meanwhile are not counted; on error, the count says
// how many were deleted before it.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) (int, error) {
	if prefix == "" {
		return 0, workflows.Permanent(errors.New("payload: DeletePrefix refuses an empty prefix: it would delete every object in the bucket"))
	}
	var keys []string
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, storageErr(err, "payload: list %q", prefix)
		}
		keys = append(keys, obj.Key)
	}
	n := 0
	for _, key := range keys {
		if err := s.bucket.Delete(ctx, key); err != nil {
			if gcerrors.Code(err) == gcerrors.NotFound {
				continue
			}
			return n, storageErr(err, "payload %s: delete", key)
		}
		n++
	}
	return n, nil
}

// ListPrefixes returns, sorted, the distinct key prefixes one level below
// prefix, each ending with delim: with prefix "deploys/c1/" and delim "/",
// the "deploys/c1/<deployment_id>/" of every stored deployment.
func (s *Store) ListPrefixes(ctx context.Context, prefix, delim string) ([]string, error) {
	if delim == "" {
		return nil, workflows.Permanent(errors.New("payload: ListPrefixes needs a delimiter, such as \"/\""))
	}
	var out []string
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix, Delimiter: delim})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, storageErr(err, "payload: list %q", prefix)
		}
		if obj.IsDir {
			out = append(out, obj.Key)
		}
	}
	slices.Sort(out)
	return out, nil
}

// ObjectKey is where a rendered manifest set is stored:
// "deploys/<cluster>/<deployment_id>/<tenant>/<service>/<digest>".
// Each part is path-escaped, so a "/" inside a name cannot add a level.
func ObjectKey(cluster, deploymentID, tenant, service, digest string) string {
	parts := []string{cluster, deploymentID, tenant, service, digest}
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return "deploys/" + strings.Join(parts, "/")
}

// checkKey rejects keys no bucket accepts; that is bad input, not an outage.
func checkKey(key string) error {
	switch {
	case key == "":
		return workflows.Permanent(errors.New("payload: the object key is empty"))
	case !utf8.ValidString(key):
		return workflows.Permanent(fmt.Errorf("payload %q: the object key is not valid UTF-8", key))
	}
	return nil
}
