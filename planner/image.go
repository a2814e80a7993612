package planner

import (
	"fmt"
	"regexp"
	"strings"
)

// The grammar of image references, after github.com/distribution/reference.
var (
	domainComponent = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
	domainPart      = domainComponent + `(?:\.` + domainComponent + `)*(?::[0-9]+)?`
	pathComponent   = `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
	repoName        = `(?:` + domainPart + `/)?` + pathComponent + `(?:/` + pathComponent + `)*`
	tagPattern      = `[\w][\w.-]{0,127}`
	// digestPattern is loose on purpose, so that checkDigest can say what
	// is wrong with a digest rather than "invalid image reference".
	digestPattern = `[^:@/]+:[^:@/]*`

	repoRE  = regexp.MustCompile(`^` + repoName + `$`)
	tagRE   = regexp.MustCompile(`^` + tagPattern + `$`)
	imageRE = regexp.MustCompile(`^(` + repoName + `)(?::(` + tagPattern + `))?(?:@(` + digestPattern + `))?$`)
)

// ImageRef is a parsed image reference.
type ImageRef struct {
	Repository string
	Tag        string
	Digest     string
}

// String formats the reference as repository[:tag][@digest].
func (r ImageRef) String() string {
	s := r.Repository
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// ParseImage parses and checks a full image reference for a deploy: it must
// pin a version (a tag other than "latest", or a digest), so that a merged
// plan deploys exactly what it says.
func ParseImage(s string) (ImageRef, error) {
	m := imageRE.FindStringSubmatch(s)
	if m == nil {
		return ImageRef{}, fmt.Errorf("invalid image reference %q; expected registry/name:tag or registry/name@sha256:<digest>", s)
	}
	ref := ImageRef{Repository: m[1], Tag: m[2], Digest: m[3]}
	if len(ref.Repository) > 255 {
		return ImageRef{}, fmt.Errorf("image name %q is longer than 255 characters", ref.Repository)
	}
	if ref.Digest != "" {
		if err := checkDigest(ref.Digest); err != nil {
			return ImageRef{}, fmt.Errorf("image %q: %w", s, err)
		}
	}
	if ref.Tag == "" && ref.Digest == "" {
		return ImageRef{}, fmt.Errorf("image %q has no tag or digest; pin the version, e.g. %s:1.2.3", s, s)
	}
	if ref.Digest == "" && strings.EqualFold(ref.Tag, "latest") {
		return ImageRef{}, fmt.Errorf("image %q uses the tag \"latest\", which is not a version; pin a tag or digest", s)
	}
	return ref, nil
}

// validRepository reports whether s is an image repository without tag or digest.
func validRepository(s string) bool { return repoRE.MatchString(s) }

// validTag reports whether s is a valid image tag.
func validTag(s string) bool { return tagRE.MatchString(s) }

// Digests, after the OCI image specification (descriptor.md, "Digests"):
// algorithm ":" encoded, where the algorithm is lower-case components
// joined by + . _ or -. The registered algorithms fix their encoding:
// sha256 and blake3 are exactly 64 lower-case hex digits, sha512 exactly
// 128. Other algorithms pass when they follow the grammar and, because the
// digest is part of an image reference that the kubelet parses, when the
// encoded part is at least 32 hex digits (distribution/reference).
var (
	digestAlgorithmRE = regexp.MustCompile(`^[a-z0-9]+(?:[+._-][a-z0-9]+)*$`)
	lowerHexRE        = regexp.MustCompile(`^[0-9a-f]*$`)
	referenceHexRE    = regexp.MustCompile(`^[0-9a-fA-F]{32,}$`)
	registeredDigests = map[string]int{"sha256": 64, "sha512": 128, "blake3": 64}
)

func checkDigest(d string) error {
	alg, enc, _ := strings.Cut(d, ":")
	if !digestAlgorithmRE.MatchString(alg) {
		return fmt.Errorf("invalid digest algorithm %q; write it in lower case, e.g. sha256:<64 hex digits>", alg)
	}
	if n, ok := registeredDigests[alg]; ok {
		switch {
		case !lowerHexRE.MatchString(enc):
			if lowerHexRE.MatchString(strings.ToLower(enc)) {
				return fmt.Errorf("%s digest must be lower-case hex: %s:%s", alg, alg, strings.ToLower(enc))
			}
			return fmt.Errorf("%s digest holds characters other than 0-9 and a-f", alg)
		case len(enc) != n:
			return fmt.Errorf("%s digest has %d hex digits; a %s digest has exactly %d", alg, len(enc), alg, n)
		}
		return nil
	}
	if !referenceHexRE.MatchString(enc) {
		return fmt.Errorf("%s digest must be at least 32 hex digits for an image reference", alg)
	}
	return nil
}
