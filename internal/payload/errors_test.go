package payload

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestTransient(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", fmt.Errorf("kms: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}), true},
		{"gRPC unavailable", fmt.Errorf("kms: %w", status.Error(codes.Unavailable, "try later")), true},
		{"deadline", fmt.Errorf("kms: %w", context.DeadlineExceeded), true},
		{"gRPC invalid ciphertext", status.Error(codes.InvalidArgument, "Decryption failed"), false},
		{"wrong local key", errors.New("localsecrets: Decrypt failed"), false},
	} {
		if got := transient(tc.err); got != tc.want {
			t.Errorf("%s: transient = %v, want %v", tc.name, got, tc.want)
		}
	}
}
