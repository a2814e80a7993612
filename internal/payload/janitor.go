package payload

import (
	"context"
	"net/url"
	"strings"

	"github.com/prdeploy/prdeploy/workflows"
)

var _ workflows.PayloadJanitor = (*Store)(nil)

// StoredDeployments lists the deployments that have payloads, from the
// "deploys/<cluster>/<deployment_id>/" prefixes.
func (s *Store) StoredDeployments(ctx context.Context) ([]workflows.StoredDeployment, error) {
	clusters, err := s.ListPrefixes(ctx, "deploys/", "/")
	if err != nil {
		return nil, err
	}
	var out []workflows.StoredDeployment
	for _, c := range clusters {
		deployments, err := s.ListPrefixes(ctx, c, "/")
		if err != nil {
			return nil, err
		}
		cluster := unescape(strings.TrimSuffix(strings.TrimPrefix(c, "deploys/"), "/"))
		for _, d := range deployments {
			out = append(out, workflows.StoredDeployment{Cluster: cluster, Deployment: unescape(strings.TrimSuffix(strings.TrimPrefix(d, c), "/"))})
		}
	}
	return out, nil
}

// DeleteDeployment deletes every payload of a deployment in a cluster.
func (s *Store) DeleteDeployment(ctx context.Context, d workflows.StoredDeployment) (int, error) {
	return s.DeletePrefix(ctx, "deploys/"+url.PathEscape(d.Cluster)+"/"+url.PathEscape(d.Deployment)+"/")
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}
