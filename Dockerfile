# syntax=docker/dockerfile:1
# The prdeploy image: `prdeploy serve`, one static binary, run as non-root.
#   docker build -t prdeploy .
#   docker run -v $PWD/prdeploy.yaml:/etc/prdeploy/prdeploy.yaml:ro -p 8080:8080 prdeploy
# Kubernetes manifests that run it: examples/kubernetes (docs/operations.md).

# go.mod needs Go 1.26.8 or later; the golang:1.26 tag follows the latest 1.26 patch.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# CGO_ENABLED=0: a static binary needing no libc. The embedded Temporal server's
# SQLite is modernc.org/sqlite (pure Go), so nothing is lost.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/prdeploy ./cmd/prdeploy \
 && mkdir -p /out/data

# distroless/static: CA certificates and tzdata, no shell, no git. prdeploy serve
# does not run the git executable: checkouts of the plans' repository use go-git
# (internal/githubapp/checkout.go, internal/gitrepo); only `prdeploy plan` on a
# developer's machine calls git.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/prdeploy /usr/local/bin/prdeploy
# dataDir: the embedded Temporal server's SQLite database (unless temporal.address
# is set), the git checkout cache and, by default, the encrypted payloads. Owned by
# the nonroot user (65532) so that a new volume there is writable.
COPY --from=build --chown=65532:65532 /out/data /var/lib/prdeploy
VOLUME /var/lib/prdeploy
USER 65532:65532
# listen: webhooks, /healthz, /readyz and /metrics.
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/prdeploy", "serve", "--config", "/etc/prdeploy/prdeploy.yaml"]
