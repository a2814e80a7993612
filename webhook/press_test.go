package webhook

import "testing"

// TestPressKeyIsTheSignedContent: a button press is named by what the
// signed payload says, never by the unsigned X-GitHub-Delivery GUID, so a
// captured delivery replayed under a new GUID is the same press (issue 13).
func TestPressKeyIsTheSignedContent(t *testing.T) {
	body := readPayload(t, "check_run/requested_action.payload.json")
	press := func(guid string, b []byte) CheckRunAction {
		t.Helper()
		ev, _, err := route(guid, "check_run", b)
		if err != nil {
			t.Fatal(err)
		}
		return ev.(CheckRunAction)
	}
	first := press("72d3162e-cc78-11e3-81ab-4c9367dc0958", body)
	replayed := press("00000000-0000-0000-0000-000000000001", body)
	if first.PressKey() != replayed.PressKey() {
		t.Fatalf("a replay under a new GUID is another press: %s, %s", first.PressKey(), replayed.PressKey())
	}
	others := map[string][]byte{
		"another sender":     edit(t, "check_run/requested_action.payload.json", map[string]any{"sender.login": "nornagon"}),
		"another button":     edit(t, "check_run/requested_action.payload.json", map[string]any{"requested_action": map[string]any{"identifier": "pause"}}),
		"another check run":  edit(t, "check_run/requested_action.payload.json", map[string]any{"check_run.id": 1494503113}),
		"another state seen": edit(t, "check_run/requested_action.payload.json", map[string]any{"check_run.output.title": "Approved"}),
	}
	for name, b := range others {
		if k := press(guid, b).PressKey(); k == first.PressKey() {
			t.Errorf("%s is the same press %s", name, k)
		}
	}
}
