package payload

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// Object format, version 1 (all integers big-endian):
//
//	magic        4 bytes  "PRDP"
//	version      1 byte   1
//	key id len   1 byte   n
//	key id       n bytes  id of the key that wrapped the data key
//	digest      32 bytes  SHA-256 of the plaintext
//	wrapped len  2 bytes  m
//	wrapped key  m bytes  data key as returned by the keeper's Encrypt
//	nonce       12 bytes  AES-GCM nonce
//	ciphertext            AES-256-GCM(data key, nonce, plaintext, aad=header), tag included
//
// The whole header (magic through nonce) is the GCM additional data, so a
// change to any header byte — the key id and the digest in particular — makes
// the payload fail to authenticate.
const (
	magic         = "PRDP"
	formatVersion = 1
	dataKeySize   = 32 // AES-256
	nonceSize     = 12 // GCM standard nonce
	digestSize    = sha256.Size
	maxKeyIDLen   = 64    // validated in Config; fits the 1-byte length
	maxWrappedLen = 65535 // fits the 2-byte length
)

// header is the parsed, unencrypted front of a stored object.
type header struct {
	keyID   string
	digest  [digestSize]byte
	wrapped []byte
	nonce   [nonceSize]byte
}

// marshal returns the encoded header; it is also the GCM additional data.
func (h *header) marshal() []byte {
	n := len(magic) + 1 + 1 + len(h.keyID) + digestSize + 2 + len(h.wrapped) + nonceSize
	b := make([]byte, 0, n)
	b = append(b, magic...)
	b = append(b, formatVersion)
	b = append(b, byte(len(h.keyID)))
	b = append(b, h.keyID...)
	b = append(b, h.digest[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.wrapped)))
	b = append(b, h.wrapped...)
	b = append(b, h.nonce[:]...)
	return b
}

// errMalformed reports an object whose header cannot be parsed.
var errMalformed = errors.New("malformed object header")

// parseHeader splits a stored object into its header, the header's encoded
// bytes (the additional data) and the ciphertext. When the header is
// malformed, the returned header still carries the key id if it was read.
func parseHeader(obj []byte) (h header, aad, ciphertext []byte, err error) {
	rest := obj
	take := func(n int) ([]byte, bool) {
		if len(rest) < n {
			return nil, false
		}
		b := rest[:n]
		rest = rest[n:]
		return b, true
	}
	truncated := func(field string) error {
		return fmt.Errorf("%w: the object ends inside the %s (%d bytes in all): it was truncated or was not written by prdeploy", errMalformed, field, len(obj))
	}

	m, ok := take(len(magic))
	if !ok || string(m) != magic {
		return h, nil, nil, fmt.Errorf("%w: no %q magic: the object was not written by prdeploy or was altered", errMalformed, magic)
	}
	v, ok := take(1)
	if !ok {
		return h, nil, nil, truncated("version")
	}
	if v[0] != formatVersion {
		return h, nil, nil, fmt.Errorf("%w: format version %d is not supported (this build reads version %d)", errMalformed, v[0], formatVersion)
	}
	l, ok := take(1)
	if !ok {
		return h, nil, nil, truncated("key id length")
	}
	id, ok := take(int(l[0]))
	if !ok {
		return h, nil, nil, truncated("key id")
	}
	h.keyID = string(id)
	d, ok := take(digestSize)
	if !ok {
		return h, nil, nil, truncated("digest")
	}
	copy(h.digest[:], d)
	wl, ok := take(2)
	if !ok {
		return h, nil, nil, truncated("wrapped key length")
	}
	w, ok := take(int(binary.BigEndian.Uint16(wl)))
	if !ok {
		return h, nil, nil, truncated("wrapped key")
	}
	h.wrapped = w
	nonce, ok := take(nonceSize)
	if !ok {
		return h, nil, nil, truncated("nonce")
	}
	copy(h.nonce[:], nonce)
	aad = obj[:len(obj)-len(rest)]
	return h, aad, rest, nil
}

// sealObject encrypts plaintext under dataKey and returns header||ciphertext.
func sealObject(h header, dataKey, plaintext []byte) ([]byte, error) {
	if _, err := rand.Read(h.nonce[:]); err != nil {
		return nil, fmt.Errorf("generate nonce: %w", err)
	}
	aead, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	hdr := h.marshal()
	out := make([]byte, len(hdr), len(hdr)+len(plaintext)+aead.Overhead())
	copy(out, hdr)
	return aead.Seal(out, h.nonce[:], plaintext, hdr), nil
}

// openSealed authenticates and decrypts ciphertext; aad is the encoded header.
func openSealed(dataKey []byte, nonce [nonceSize]byte, aad, ciphertext []byte) ([]byte, error) {
	aead, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	return aead.Open(nil, nonce[:], ciphertext, aad)
}

func newGCM(dataKey []byte) (cipher.AEAD, error) {
	if len(dataKey) != dataKeySize {
		return nil, fmt.Errorf("the data key is %d bytes, want %d", len(dataKey), dataKeySize)
	}
	block, err := aes.NewCipher(dataKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// newDataKey returns a fresh random AES-256 key.
func newDataKey() ([]byte, error) {
	k := make([]byte, dataKeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("generate data key: %w", err)
	}
	return k, nil
}

// wipe zeroes key material once it is no longer needed (best effort: the
// garbage collector may have copied it).
func wipe(b []byte) { clear(b) }
