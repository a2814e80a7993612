package kube

import (
	"context"
	"errors"
	"net"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/prdeploy/prdeploy/workflows"
)

// Retryable reports whether an apiserver error may go away by itself:
// the apiserver unreachable or unavailable, timeouts, throttling (429) and
// 5xx. Bad input, forbidden, unauthorized, a kind the cluster does not
// serve and field-manager conflicts are not.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var conflict *ConflictError
	var rollout *RolloutError
	var manifest *ManifestError
	var permanent workflows.PermanentError
	switch {
	case errors.As(err, &permanent):
		return false
	case errors.As(err, &conflict), errors.As(err, &rollout), errors.As(err, &manifest):
		return false
	case meta.IsNoMatchError(err):
		return false
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err), apierrors.IsForbidden(err),
		apierrors.IsUnauthorized(err), apierrors.IsMethodNotSupported(err), apierrors.IsNotAcceptable(err),
		apierrors.IsUnsupportedMediaType(err), apierrors.IsRequestEntityTooLargeError(err),
		apierrors.IsNotFound(err): // callers handle the not-founds they expect
		return false
	case apierrors.IsTooManyRequests(err), apierrors.IsServerTimeout(err), apierrors.IsTimeout(err),
		apierrors.IsServiceUnavailable(err), apierrors.IsInternalError(err), apierrors.IsUnexpectedServerError(err):
		return true
	case apierrors.IsConflict(err): // an optimistic-concurrency clash: read again
		return true
	}
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		code := st.Status().Code
		return code >= 500 || code == 429
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, context.DeadlineExceeded) || apierrors.IsUnexpectedObjectError(err) {
		return true
	}
	// Unknown errors (a broken connection mid-stream, say) are retried:
	// the activity's retry policy bounds them.
	return true
}

// classify marks errors that retrying cannot fix as permanent, so the
// activity fails at once with the reason instead of retrying.
func classify(err error) error {
	if err == nil || Retryable(err) {
		return err
	}
	return workflows.Permanent(err)
}
