package payload

import (
	"context"
	"encoding/base64"
	"fmt"

	"gocloud.dev/secrets/localsecrets"
)

// OpenMemory opens a store in memory, encrypted with a fresh random key:
// for tests and the demo, where nothing needs to outlive the process.
func OpenMemory(ctx context.Context) (*Store, error) {
	key, err := localsecrets.NewRandomKey()
	if err != nil {
		return nil, fmt.Errorf("payload: a random key: %w", err)
	}
	return Open(ctx, Config{
		BucketURL:  "mem://",
		Keys:       map[string]string{"memory": "base64key://" + base64.URLEncoding.EncodeToString(key[:])},
		CurrentKey: "memory",
	})
}
