package kube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
)

// Blob names a stored payload: its reference and the SHA-256 of its
// plaintext, which Get verifies.
type Blob struct {
	Ref    string
	Digest string
}

// Store keeps the rendered manifests the Cluster applies and the "live
// before" snapshots it restores (internal/payload, encrypted in object
// storage, implements it for production).
type Store interface {
	Put(ctx context.Context, key string, data []byte) (Blob, error)
	// Lookup finds what was put under key, if anything.
	Lookup(ctx context.Context, key string) (Blob, bool, error)
	// Get returns the payload, failing if its digest does not match.
	Get(ctx context.Context, b Blob) ([]byte, error)
}

// MemoryStore is a Store in memory, for tests and the demo.
type MemoryStore struct {
	mu   sync.Mutex
	data map[string][]byte
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{data: map[string][]byte{}} }

// Digest is the hex SHA-256 of data.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Put stores data under key (the key is the reference).
func (s *MemoryStore) Put(_ context.Context, key string, data []byte) (Blob, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data[key] = append([]byte(nil), data...)
	return Blob{Ref: key, Digest: Digest(data)}, nil
}

// Lookup finds key.
func (s *MemoryStore) Lookup(_ context.Context, key string) (Blob, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.data[key]
	if !ok {
		return Blob{}, false, nil
	}
	return Blob{Ref: key, Digest: Digest(d)}, true, nil
}

// Get returns a stored payload after checking its digest.
func (s *MemoryStore) Get(_ context.Context, b Blob) ([]byte, error) {
	s.mu.Lock()
	d, ok := s.data[b.Ref]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("payload %s: not found", b.Ref)
	}
	if got := Digest(d); b.Digest != "" && got != b.Digest {
		return nil, fmt.Errorf("payload %s: digest %s, want %s (corrupted or tampered with)", b.Ref, got, b.Digest)
	}
	return append([]byte(nil), d...), nil
}
