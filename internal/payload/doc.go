// Package payload keeps rendered Kubernetes manifests — and the "live before
// deploy" snapshots that rollbacks restore — encrypted in object storage, so
// that workflow histories carry only a small Ref (object key, SHA-256 and size
// of the plaintext, key id) and never a manifest or a secret.
//
// # Storage
//
// Objects live in a gocloud.dev/blob bucket: a local directory (file://) by
// default, mem:// in tests, a cloud bucket once its driver is linked (see
// drivers.go). Rendered manifests go under
//
//	deploys/<cluster>/<deployment_id>/<tenant>/<service>/<sha256>
//
// (ObjectKey), so retention can enumerate a cluster's deployments with
// ListPrefixes("deploys/<cluster>/", "/") and drop one with
// DeletePrefix("deploys/<cluster>/<deployment_id>/"). Each object also carries
// blob metadata — sha256, size, keyid — so Lookup can tell what is stored
// without a key. Put is idempotent: writing the same content under the same key
// again yields the same Ref.
//
// # Envelope encryption
//
// Every object gets a fresh random 256-bit data key. The plaintext is sealed
// with AES-256-GCM under that key and a random 96-bit nonce; the data key is
// wrapped by the keeper (a gocloud.dev/secrets URL: base64key:// locally, a
// KMS in production) of Config.CurrentKey. An object is a small versioned
// header followed by the ciphertext:
//
//	"PRDP" | version (1) | key id length, key id | SHA-256 of the plaintext |
//	wrapped key length (2 bytes), wrapped key | nonce (12) | ciphertext and tag
//
// The whole header is the GCM additional data, so changing any of it — the key
// id, the digest, the nonce — makes the object fail to authenticate, as does
// changing one bit of the ciphertext.
//
// # Key rotation
//
// An object names the key id that wrapped it, and Get unwraps with that id's
// keeper from Config.Keys whatever CurrentKey is now. To rotate, add the new
// key, make it CurrentKey, and keep the old one configured until every object
// it wrapped has been deleted by retention (or rewritten). Reading an object
// whose key id is no longer configured fails with an error that names the id.
//
// # Verification and errors
//
// Get reads the object, decrypts it, and compares the plaintext's SHA-256 and
// size with the Ref before returning anything. Its errors are meant for people:
//
//	payload <key>: not found
//	payload <key>: cannot decrypt with key "<id>": <why>
//	payload <key>: sha256 <got> does not match the reference's <want>: the payload was changed after it was stored; nothing from it is applied
//
// These, other bad input (an empty key, a foreign object) and requests that
// storage or the KMS refuses (no permission, no such bucket or KMS key) are
// wrapped in workflows.Permanent: retrying cannot make a missing or altered
// payload appear. Outages — network failures, an unavailable service,
// throttling, deadlines — stay plain errors, so activities retry them.
// A missing payload also matches ErrNotFound and reports gcerrors.NotFound.
//
// Neither plaintext, data keys nor keeper URLs appear in errors (base64key://
// URLs hold the key itself): Open describes a bad key entry by its id and
// field only, and keeper errors are passed on with their URL redacted. The
// package does not log.
//
// # Imports
//
// It is gocloud.dev's home in prdeploy (with the demo's random key) and
// imports workflows only, for the port it implements and
// workflows.Permanent; the domain packages never import it.
package payload
