package payload

import (
	"context"
	"errors"
	"fmt"
	"net"

	"gocloud.dev/gcerrors"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/prdeploy/prdeploy/workflows"
)

// ErrNotFound is matched (errors.Is) by the error Get returns when no object
// is stored under the reference's key.
var ErrNotFound = errors.New("payload not found")

// notFoundError keeps the storage error in the chain (gcerrors.Code reports
// NotFound) while its message stays short and stable.
type notFoundError struct {
	key string
	err error
}

func (e *notFoundError) Error() string   { return fmt.Sprintf("payload %s: not found", e.key) }
func (e *notFoundError) Unwrap() []error { return []error{ErrNotFound, e.err} }

// decryptError reports an object that cannot be opened with the key it
// names: wrong key material, an unconfigured key id, or an altered object.
type decryptError struct {
	key    string
	keyID  string
	reason string
	err    error // may be nil
}

func (e *decryptError) Error() string {
	return fmt.Sprintf("payload %s: cannot decrypt with key %q: %s", e.key, e.keyID, e.reason)
}
func (e *decryptError) Unwrap() error { return e.err }

// transient reports whether an error from a keeper may go away on retry:
// network trouble, an unavailable KMS, throttling, deadlines. gocloud.dev
// reports an unavailable gRPC service as Unknown, the same code localsecrets
// uses for a wrong key, so the network and gRPC layers are asked directly.
func transient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	switch gcerrors.Code(err) {
	case gcerrors.DeadlineExceeded, gcerrors.ResourceExhausted, gcerrors.Internal, gcerrors.Canceled:
		return true
	}
	if status.Code(err) == codes.Unavailable {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}

// refused reports whether storage or a keeper turned the request down for a
// reason no retry fixes (the 4xx of their APIs): a bad key or argument, a
// missing bucket or KMS key, no permission.
func refused(err error) bool {
	switch gcerrors.Code(err) {
	case gcerrors.InvalidArgument, gcerrors.NotFound, gcerrors.PermissionDenied, gcerrors.FailedPrecondition:
		return !transient(err)
	}
	return false
}

// storageErr wraps a storage error: retryable, unless it was refused.
func storageErr(err error, format string, args ...any) error {
	wrapped := fmt.Errorf(format+": %w", append(args, err)...)
	if refused(err) {
		return workflows.Permanent(wrapped)
	}
	return wrapped
}

// redactedError carries a keeper error whose text went through the keeper's
// redact function; the original stays in the chain for errors.As and
// gcerrors.Code.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func (k *keeper) wrapErr(err error) error {
	return &redactedError{msg: k.redact(err.Error()), err: err}
}
