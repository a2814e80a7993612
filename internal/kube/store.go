package kube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/prdeploy/prdeploy/internal/payload"
	"github.com/prdeploy/prdeploy/workflows"
)

// Store keeps the rendered manifests the Cluster applies and the "live
// before" snapshots it restores (internal/payload, encrypted in object
// storage, implements it for production).
type Store interface {
	Put(ctx context.Context, key string, data []byte) (payload.Ref, error)
	// Lookup finds what was put under key, if anything.
	Lookup(ctx context.Context, key string) (payload.Ref, bool, error)
	// Get returns the payload, failing if its digest does not match.
	Get(ctx context.Context, ref payload.Ref) ([]byte, error)
}

// MemoryStore is a Store in memory without encryption, for narrow tests
// (internal/payload is the real one).
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
func (s *MemoryStore) Put(_ context.Context, key string, data []byte) (payload.Ref, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data[key] = append([]byte(nil), data...)
	return payload.Ref{Key: key, Digest: Digest(data), Size: int64(len(data))}, nil
}

// Lookup finds key.
func (s *MemoryStore) Lookup(_ context.Context, key string) (payload.Ref, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.data[key]
	if !ok {
		return payload.Ref{}, false, nil
	}
	return payload.Ref{Key: key, Digest: Digest(d), Size: int64(len(d))}, true, nil
}

// Get returns a stored payload after checking its digest.
func (s *MemoryStore) Get(_ context.Context, b payload.Ref) ([]byte, error) {
	s.mu.Lock()
	d, ok := s.data[b.Key]
	s.mu.Unlock()
	if !ok {
		return nil, workflows.Permanent(fmt.Errorf("payload %s: not found", b.Key))
	}
	if got := Digest(d); got != b.Digest {
		return nil, workflows.Permanent(fmt.Errorf("payload %s: sha256 %s does not match the reference's %s: the payload was changed after it was stored; nothing from it is applied", b.Key, got, b.Digest))
	}
	return append([]byte(nil), d...), nil
}
