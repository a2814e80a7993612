package planner

import (
	"os"
	"strings"
	"testing"
)

// TestExampleRepository: the sample GitOps repository that the docs and the
// demo use is valid, every plan expands, and every (tenant, service) of every
// plan renders with the plan's image in the tenant's namespace.
func TestExampleRepository(t *testing.T) {
	r, err := LoadRepo(os.DirFS("../examples/gitops-repo"))
	if err != nil {
		t.Fatalf("examples/gitops-repo: %v", err)
	}
	if len(r.Fleet.Clusters) < 2 || len(r.Fleet.Tenants) < 12 || len(r.Fleet.Services) < 4 || len(r.Plans) < 3 {
		t.Errorf("the example repository shrank: %d clusters, %d tenants, %d services, %d plans",
			len(r.Fleet.Clusters), len(r.Fleet.Tenants), len(r.Fleet.Services), len(r.Plans))
	}
	rd, err := NewRenderer(r)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	rendered := 0
	for _, p := range r.Plans {
		e, err := Expand(p, r.Fleet)
		if err != nil {
			t.Errorf("%s: %v", p.File, err)
			continue
		}
		for _, w := range e.Waves {
			for _, tt := range w.Tenants {
				for _, name := range tt.Services {
					s, _ := e.Service(name)
					m, err := rd.Render(tt, s)
					if err != nil {
						t.Errorf("%s: %v", p.File, err)
						continue
					}
					if !strings.Contains(string(m.YAML), "image: "+s.Image) || !strings.Contains(string(m.YAML), "namespace: "+tt.Namespace) {
						t.Errorf("%s: %s/%s lacks its image or namespace", p.File, tt.Name, name)
					}
					rendered++
				}
			}
		}
	}
	if rendered < 30 {
		t.Errorf("rendered only %d manifests", rendered)
	}
}
