package workflows

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/planner"
)

func TestTenantRecordJSON(t *testing.T) {
	start := time.Date(2026, 11, 26, 13, 0, 0, 0, time.UTC)
	done := TenantRecord{Tenant: "acme-prod-001", Wave: 2, Index: 17, Phase: TenantSucceeded, StartedAt: start, FinishedAt: start.Add(90 * time.Second)}
	data, err := json.Marshal(done)
	if err != nil {
		t.Fatal(err)
	}
	if want := `["acme-prod-001",2,17,"succeeded",1795698000,1795698090]`; string(data) != want {
		t.Fatalf("compact form %s, want %s", data, want)
	}
	var back TenantRecord
	if err := json.Unmarshal(data, &back); err != nil || !back.StartedAt.Equal(done.StartedAt) || !back.FinishedAt.Equal(done.FinishedAt) ||
		back.Tenant != done.Tenant || back.Wave != 2 || back.Index != 17 || back.Phase != TenantSucceeded {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	failed := TenantRecord{Tenant: "t02", Phase: TenantFailed, Failure: "podsAvailable failed", Services: []ServiceStatus{{Service: "web", Phase: ServiceFailed}}}
	data, _ = json.Marshal(failed)
	if !strings.HasPrefix(string(data), `{"tenant":"t02"`) {
		t.Fatalf("a failed tenant keeps the object form: %s", data)
	}
	back = TenantRecord{}
	if err := json.Unmarshal(data, &back); err != nil || back.Failure != failed.Failure || len(back.Services) != 1 {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	// 500 finished tenants fit in well under Temporal's payload limits.
	st := OrchestrationState{}
	for i := range 500 {
		r := done
		r.Tenant, r.Index = fmt.Sprintf("acme-prod-%03d", i), i
		st.Tenants = append(st.Tenants, r)
	}
	data, _ = json.Marshal(st)
	if len(data) > 32<<10 {
		t.Fatalf("500 tenants: %d bytes", len(data))
	}
	t.Logf("state with 500 finished tenants: %d bytes", len(data))
}

// TestAssignPagesStaySmall: with many services per tenant a page holds
// fewer tenants, never more than PageBytes encoded, and paging by offset
// still visits every tenant once.
func TestAssignPagesStaySmall(t *testing.T) {
	e := &planner.ExecutionPlan{Deployment: "big", Waves: []planner.Wave{{Name: "all"}}}
	var names []string
	for i := range 5 {
		name := fmt.Sprintf("service-%d", i)
		names = append(names, name)
		e.Services = append(e.Services, planner.ServiceRollout{Name: name, Image: "registry.example.com/acme/" + name + ":1.2.3"})
	}
	for i := range 300 {
		e.Waves[0].Tenants = append(e.Waves[0].Tenants, planner.TenantTarget{Name: fmt.Sprintf("acme-prod-%03d", i), Cluster: "prod-eu", Namespace: fmt.Sprintf("tenant-acme-prod-%03d", i), Services: names})
	}
	locate := func(tenant, service string) (string, string) {
		return "deploys/prod-eu/big/" + tenant + "/" + service + "/" + strings.Repeat("a", 64), strings.Repeat("a", 64)
	}
	seen, pages := 0, 0
	for seen < 300 {
		page := Assign(e, TenantsRequest{Wave: 0, Offset: seen, Limit: 100}, locate)
		data, _ := json.Marshal(page)
		if len(page) == 0 || len(data) > PageBytes || page[0].Tenant != fmt.Sprintf("acme-prod-%03d", seen) {
			t.Fatalf("page at %d: %d tenants, %d bytes", seen, len(page), len(data))
		}
		seen += len(page)
		pages++
	}
	if pages < 4 {
		t.Fatalf("%d pages: the byte bound did not cut them", pages)
	}
	t.Logf("300 tenants × 5 services in %d pages", pages)
}

func TestChatChannelPrecedence(t *testing.T) {
	a := &ReportActivities{ChatChannels: map[string]string{"prod-eu": "#deploys-eu", "*": "#deploys"}}
	plan := Status{OrchestrationState: OrchestrationState{Prepared: &PreparedDeployment{ChatChannel: "#web-team"}}}
	for _, c := range []struct {
		st      Status
		cluster string
		want    string
	}{{plan, "prod-eu", "#web-team"}, {Status{}, "prod-eu", "#deploys-eu"}, {Status{}, "prod-us", "#deploys"}} {
		if got := a.chatChannel(c.st, c.cluster); got != c.want {
			t.Errorf("%s: %q, want %q", c.cluster, got, c.want)
		}
	}
}
