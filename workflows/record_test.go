package workflows

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
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
