package payload

import (
	"context"
	"fmt"
)

// Reachable checks that the bucket answers and exists, without reading or
// writing a payload: `prdeploy serve`'s /readyz asks it.
func (s *Store) Reachable(ctx context.Context) error {
	ok, err := s.bucket.IsAccessible(ctx)
	if err != nil {
		return fmt.Errorf("the payload bucket does not answer: %w", err)
	}
	if !ok {
		return fmt.Errorf("the payload bucket does not exist or is not accessible with these credentials")
	}
	return nil
}
