// Package webhooktest builds GitHub webhook deliveries for tests: payloads
// made from GitHub's documented examples with a few fields changed, checked
// against GitHub's published JSON schemas before they are used, and signed
// and POSTed over real HTTP as GitHub delivers them.
package webhooktest

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/prdeploy/prdeploy/webhook"
)

//go:embed schemas
var schemaFS embed.FS

// Payload is a webhook payload under construction.
type Payload struct {
	// Event is the X-GitHub-Event it is delivered as.
	Event string
	doc   map[string]any
}

// Example starts a payload from one of GitHub's documented examples in
// webhook/testdata/payloads, as "issue_comment/created.payload.json"; the
// folder is the event.
func Example(tb testing.TB, file string) *Payload {
	tb.Helper()
	_, self, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(self), "..", "testdata", "payloads", filepath.FromSlash(file)))
	if err != nil {
		tb.Fatal(err)
	}
	p := &Payload{Event: path.Dir(file)}
	if err := json.Unmarshal(b, &p.doc); err != nil {
		tb.Fatalf("%s: %v", file, err)
	}
	return p
}

// Set sets the value at a dotted path ("comment.user.login"); nil
// deletes it. Objects on the way must exist.
func (p *Payload) Set(tb testing.TB, dotted string, v any) *Payload {
	tb.Helper()
	keys := strings.Split(dotted, ".")
	m := p.doc
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			tb.Fatalf("%s: %s is not an object", dotted, k)
		}
		m = next
	}
	if v == nil {
		delete(m, keys[len(keys)-1])
	} else {
		m[keys[len(keys)-1]] = v
	}
	return p
}

// Get returns the value at a dotted path, or nil; a copy of it can be Set
// elsewhere (a user object as merged_by).
func (p *Payload) Get(dotted string) any {
	var v any = p.doc
	for _, k := range strings.Split(dotted, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	b, _ := json.Marshal(v)
	var c any
	_ = json.Unmarshal(b, &c)
	return c
}

// JSON encodes the payload, and fails the test unless it validates against
// the schema of its event and action.
func (p *Payload) JSON(tb testing.TB) []byte {
	tb.Helper()
	b, err := json.Marshal(p.doc)
	if err != nil {
		tb.Fatal(err)
	}
	action, _ := p.doc["action"].(string)
	if err := Validate(p.Event, action, b); err != nil {
		tb.Fatalf("%s %s payload does not validate against GitHub's schema: %v", p.Event, action, err)
	}
	return b
}

var (
	compileOnce sync.Once
	compiler    *jsonschema.Compiler
	compileErr  error
	compiledMu  sync.Mutex
	compiled    = map[string]*jsonschema.Schema{}
)

const schemaBase = "https://schemas.webhooktest.invalid/"

// Validate checks a payload against the schema of <event>/<action>.
func Validate(event, action string, payload []byte) error {
	compileOnce.Do(func() { compiler, compileErr = newCompiler() })
	if compileErr != nil {
		return compileErr
	}
	name := event + "$" + action
	compiledMu.Lock()
	sch, ok := compiled[name]
	if !ok {
		var err error
		if sch, err = compiler.Compile(schemaBase + name); err != nil {
			compiledMu.Unlock()
			return fmt.Errorf("no schema for %s: %w", name, err)
		}
		compiled[name] = sch
	}
	compiledMu.Unlock()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

// newCompiler loads the schemas. Their $ids are relative
// ("pull_request$opened", "common/user.schema.json"); each gets an
// absolute $id under one base, where their relative $refs resolve.
func newCompiler() (*jsonschema.Compiler, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	// jsonschema/v6 checks uri-template by splitting on "/" before
	// matching braces, which rejects GitHub's "{/owner}" expressions.
	c.RegisterFormat(&jsonschema.Format{Name: "uri-template", Validate: validURITemplate})
	err := fs.WalkDir(schemaFS, "schemas", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".schema.json") {
			return err
		}
		f, err := schemaFS.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		m, ok := doc.(map[string]any)
		id, _ := m["$id"].(string)
		if !ok || id == "" {
			return fmt.Errorf("%s has no $id", p)
		}
		m["$id"] = schemaBase + id
		return c.AddResource(schemaBase+id, doc)
	})
	return c, err
}

func validURITemplate(v any) error {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	var b strings.Builder
	open := false
	for _, ch := range s {
		switch {
		case ch == '{' && !open:
			open = true
			b.WriteString("x")
		case ch == '}' && open:
			open = false
		case ch == '{' || ch == '}':
			return fmt.Errorf("unbalanced braces in %q", s)
		case !open:
			b.WriteRune(ch)
		}
	}
	if open {
		return fmt.Errorf("unclosed brace in %q", s)
	}
	if u, err := url.Parse(b.String()); err != nil || !u.IsAbs() {
		return fmt.Errorf("%q is not an absolute URI template", s)
	}
	return nil
}

// Hook POSTs deliveries to a webhook handler as GitHub does: JSON, signed
// with Secret (X-Hub-Signature-256), with the event and a delivery GUID.
type Hook struct {
	// URL is the handler's full URL (server URL + webhook.Path).
	URL    string
	Secret webhook.Secret
}

// Response is what the handler answered.
type Response struct {
	Code int
	// Ignored is the X-Prdeploy-Ignored header of a 204.
	Ignored string
	Body    string
}

// Deliver signs and POSTs one delivery.
func (h Hook) Deliver(tb testing.TB, event, guid string, body []byte) Response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.EventHeader, event)
	req.Header.Set(webhook.DeliveryHeader, guid)
	req.Header.Set(webhook.SignatureHeader, webhook.Sign(h.Secret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Response{Code: resp.StatusCode, Ignored: resp.Header.Get(webhook.IgnoredHeader), Body: string(b)}
}
