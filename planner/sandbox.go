package planner

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"
)

// Kustomize fetches what a kustomization names by URL (patches, CRDs,
// OpenAPI schemas, transformer configs, remote bases…) with
// http.DefaultTransport and by running git, helm and plugin binaries
// found on PATH, and its krusty API offers no hook to replace its loader.
// So prdeploy renders in a child process of its own binary in which none
// of that can work, whatever field names the URL:
//
//   - http.DefaultTransport and http.DefaultClient refuse every request
//     (and record it, so the error can name the reference);
//   - the environment is empty: no PATH, so no git, helm or plugin
//     binary can be found; no HOME, no proxy settings;
//   - helm is disabled and plugins are builtins only;
//   - the file system is in memory and holds the repository at the
//     commit and nothing else.
//
// The child also contains kustomize's process-wide state (the OpenAPI
// schema a kustomization can replace) and its panics: a hostile
// kustomization cannot poison or crash the worker.

// sandboxEnv set to "1" in the environment of a binary that links this
// package makes it a render sandbox: it serves render requests on stdin
// and fd 3 and exits, before main (or the tests) run.
const sandboxEnv = "PRDEPLOY_RENDER_SANDBOX"

func init() {
	if os.Getenv(sandboxEnv) == "1" {
		os.Exit(serveSandbox())
	}
}

// sandboxRequest is one render: the generated kustomization to write at
// Dir and run. The first request of a child carries the repository.
type sandboxRequest struct {
	Files         map[string][]byte // absolute in-memory path → content
	Dir           string
	Kustomization []byte
}

// sandboxResponse is the outcome of one render.
type sandboxResponse struct {
	YAML    []byte
	Objects []ObjectRef
	Err     string
	// Refused are the URLs the render tried to fetch.
	Refused []string
	// Read are the files kustomize read, in order (to find a reference).
	Read []string
}

// refusingTransport is the sandbox's only HTTP transport.
type refusingTransport struct {
	mu      sync.Mutex
	refused []string
}

func (t *refusingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.mu.Lock()
	t.refused = append(t.refused, r.URL.String())
	t.mu.Unlock()
	if r.Body != nil {
		r.Body.Close()
	}
	return nil, fmt.Errorf("prdeploy renders without network: refused to fetch %s", r.URL)
}

func (t *refusingTransport) take() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.refused
	t.refused = nil
	return out
}

// recordingFS notes the files kustomize reads.
type recordingFS struct {
	filesys.FileSystem
	read []string
}

func (f *recordingFS) ReadFile(p string) ([]byte, error) {
	f.read = append(f.read, p)
	return f.FileSystem.ReadFile(p)
}

// sandboxOptions are kustomize's options in the sandbox: files only from
// the kustomization's root and below, builtin plugins only, no helm.
func sandboxOptions() *krusty.Options {
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionLegacy
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	opts.PluginConfig = types.DisabledPluginConfig()
	opts.PluginConfig.HelmConfig.Enabled = false
	return opts
}

// serveSandbox is the child's main loop.
func serveSandbox() int {
	transport := &refusingTransport{}
	http.DefaultTransport = transport
	http.DefaultClient = &http.Client{Transport: transport}
	os.Clearenv()
	responses := os.NewFile(3, "responses")
	// Kustomize prints warnings (and debug output) on stdout and stderr:
	// they go to the parent's log, never into the responses.
	log.SetOutput(os.Stderr)
	dec := gob.NewDecoder(os.Stdin)
	enc := gob.NewEncoder(responses)
	mem := &recordingFS{FileSystem: filesys.MakeFsInMemory()}
	kust := krusty.MakeKustomizer(sandboxOptions())
	defaultSchema := openapi.GetSchemaVersion()
	for {
		var req sandboxRequest
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return 0
			}
			fmt.Fprintf(os.Stderr, "render sandbox: reading a request: %v\n", err)
			return 2
		}
		resp := sandboxRender(mem, kust, req)
		resp.Refused = transport.take()
		// A kustomization may set kustomize's OpenAPI schema, which is
		// process-wide: the next render starts from the built-in one.
		if openapi.GetSchemaVersion() != defaultSchema {
			openapi.ResetOpenAPI()
		}
		if err := enc.Encode(resp); err != nil {
			fmt.Fprintf(os.Stderr, "render sandbox: writing a response: %v\n", err)
			return 2
		}
	}
}

func sandboxRender(mem *recordingFS, kust *krusty.Kustomizer, req sandboxRequest) (resp sandboxResponse) {
	defer func() {
		if p := recover(); p != nil {
			resp = sandboxResponse{Err: fmt.Sprintf("kustomize panicked: %v\n%s", p, debug.Stack())}
			openapi.ResetOpenAPI()
		}
		resp.Read = mem.read
		mem.read = nil
	}()
	for _, name := range sortedKeys(req.Files) {
		if err := mem.MkdirAll(path.Dir(name)); err != nil {
			return sandboxResponse{Err: err.Error()}
		}
		if err := mem.FileSystem.WriteFile(name, req.Files[name]); err != nil {
			return sandboxResponse{Err: err.Error()}
		}
	}
	if err := mem.MkdirAll(req.Dir); err != nil {
		return sandboxResponse{Err: err.Error()}
	}
	if err := mem.FileSystem.WriteFile(path.Join(req.Dir, "kustomization.yaml"), req.Kustomization); err != nil {
		return sandboxResponse{Err: err.Error()}
	}
	mem.read = nil
	rm, err := kust.Run(mem, req.Dir)
	if err != nil {
		return sandboxResponse{Err: err.Error()}
	}
	out, err := rm.AsYaml()
	if err != nil {
		return sandboxResponse{Err: err.Error()}
	}
	resp.YAML = out
	for _, res := range rm.Resources() {
		resp.Objects = append(resp.Objects, ObjectRef{APIVersion: res.GetApiVersion(), Kind: res.GetKind(), Namespace: res.GetNamespace(), Name: res.GetName()})
	}
	return resp
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// sandbox is the parent's end of a render child. It starts the child on
// the first render and starts another if one dies (a kustomize crash).
type sandbox struct {
	files map[string][]byte

	cmd       *exec.Cmd
	stdin     io.WriteCloser
	responses *os.File
	enc       *gob.Encoder
	dec       *gob.Decoder
	output    *tailBuffer
}

// self is the binary to start as the sandbox: this very program.
func self() (string, error) {
	if runtime.GOOS == "linux" {
		if _, err := os.Stat("/proc/self/exe"); err == nil {
			return "/proc/self/exe", nil // still there if the file was replaced
		}
	}
	return os.Executable()
}

func (s *sandbox) start() error {
	exe, err := self()
	if err != nil {
		return fmt.Errorf("starting the render sandbox: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("starting the render sandbox: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = []string{sandboxEnv + "=1"}
	cmd.Dir = os.TempDir()
	s.output = &tailBuffer{max: 16 << 10}
	cmd.Stdout, cmd.Stderr = s.output, s.output
	cmd.ExtraFiles = []*os.File{w}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		r.Close()
		w.Close()
		return fmt.Errorf("starting the render sandbox: %w", err)
	}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return fmt.Errorf("starting the render sandbox %s: %w", exe, err)
	}
	w.Close()
	s.cmd, s.stdin, s.responses = cmd, stdin, r
	s.enc, s.dec = gob.NewEncoder(stdin), gob.NewDecoder(r)
	return nil
}

// render runs one render in the child, starting one if none runs.
func (s *sandbox) render(dir string, kustomization []byte) (sandboxResponse, error) {
	req := sandboxRequest{Dir: dir, Kustomization: kustomization}
	if s.cmd == nil {
		if err := s.start(); err != nil {
			return sandboxResponse{}, err
		}
		req.Files = s.files
	}
	var resp sandboxResponse
	err := s.enc.Encode(req)
	if err == nil {
		err = s.dec.Decode(&resp)
	}
	if err != nil {
		out := s.output.String()
		s.kill()
		return sandboxResponse{}, fmt.Errorf("the render sandbox failed: %w; its output: %s", err, strings.TrimSpace(out))
	}
	return resp, nil
}

// close ends the child: it exits when its input closes.
func (s *sandbox) close() {
	if s.cmd == nil {
		return
	}
	s.stdin.Close()
	_ = s.cmd.Wait()
	s.responses.Close()
	s.cmd = nil
}

// kill ends a child that failed.
func (s *sandbox) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	s.close()
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
