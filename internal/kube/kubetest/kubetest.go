// Package kubetest starts a real local Kubernetes control plane for tests:
// etcd, kube-apiserver, kube-controller-manager, kube-scheduler and a kwok
// fake node, through hack/kube-up.sh (the same script `make kube-up` runs).
//
// The binaries are built once per machine by hack/kube-binaries.sh (`make
// kube-binaries`). When they are missing, tests that need the control plane
// are skipped with that reason, unless PRDEPLOY_REAL=required (set by
// `make test` and CI), which makes a missing control plane a failure.
package kubetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ControlPlane is a running local control plane.
type ControlPlane struct {
	// Dir holds the kubeconfig, certificates, logs and PIDs.
	Dir        string
	Kubeconfig string
	mu         sync.Mutex
}

// hackDir finds the repository's hack/ folder from this source file.
func hackDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "hack")
}

// Required reports whether a missing control plane is a failure rather
// than a reason to skip.
func Required() bool { return os.Getenv("PRDEPLOY_REAL") == "required" }

// Available reports whether the control plane's binaries are built.
func Available() (string, bool) {
	out, err := exec.Command("bash", filepath.Join(hackDir(), "kube-binaries.sh"), "--check").Output()
	return strings.TrimSpace(string(out)), err == nil
}

// Start starts a control plane in a new temporary folder.
func Start() (*ControlPlane, error) {
	dir, err := os.MkdirTemp("", "prdeploy-kube-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("bash", filepath.Join(hackDir(), "kube-up.sh"), dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		cp := &ControlPlane{Dir: dir}
		cp.Stop()
		return nil, fmt.Errorf("starting the control plane: %v\n%s", err, stderr.String())
	}
	return &ControlPlane{Dir: dir, Kubeconfig: strings.TrimSpace(string(out))}, nil
}

// Main is a TestMain for packages whose tests need a control plane: it
// starts one (or records why not), runs the tests and stops it.
func Main(m *testing.M, cp **ControlPlane, why *string) {
	code := func() int {
		if bin, ok := Available(); !ok {
			*why = fmt.Sprintf("the local control plane is not built (%s missing; run `make kube-binaries`)", bin)
			if Required() {
				fmt.Fprintln(os.Stderr, "PRDEPLOY_REAL=required:", *why)
				return 1
			}
			return m.Run()
		}
		c, err := Start()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer c.Stop()
		*cp = c
		return m.Run()
	}()
	os.Exit(code)
}

// Need skips (or, when required, fails) t without a control plane.
func Need(t testing.TB, cp *ControlPlane, why string) *ControlPlane {
	t.Helper()
	if cp == nil {
		if Required() {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	return cp
}

// StartT starts a control plane for one test and stops it when the test
// ends; without the binaries it skips (or, when required, fails) t.
func StartT(t testing.TB) *ControlPlane {
	t.Helper()
	if bin, ok := Available(); !ok {
		Need(t, nil, fmt.Sprintf("the local control plane is not built (%s missing; run `make kube-binaries`)", bin))
	}
	cp, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	return cp
}

// Config is a client config for the control plane.
func (c *ControlPlane) Config() (*rest.Config, error) {
	return clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
}

// Stop stops every component and removes the folder.
func (c *ControlPlane) Stop() {
	exec.Command("bash", filepath.Join(hackDir(), "kube-down.sh"), c.Dir).Run()
	os.RemoveAll(c.Dir)
}

// pid returns the PID of a component from DIR/pids.
func (c *ControlPlane) pid(name string) (int, error) {
	data, err := os.ReadFile(filepath.Join(c.Dir, "pids"))
	if err != nil {
		return 0, err
	}
	pid := 0
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[1] == name {
			pid, _ = strconv.Atoi(f[0]) // the last one started wins
		}
	}
	if pid == 0 {
		return 0, fmt.Errorf("no PID for %s in %s/pids", name, c.Dir)
	}
	return pid, nil
}

// StopComponent stops one component (e.g. "kube-apiserver") and waits
// until it has exited.
func (c *ControlPlane) StopComponent(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	pid, err := c.pid(name)
	if err != nil {
		return err
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("stopping %s: %w", name, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			p.Kill()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// alive reports whether a process runs; a zombie (exited, not reaped yet
// by whoever inherited it from kube-up.sh) has stopped.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...: the state follows the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// StartComponent starts a stopped component again with the command line
// it was first started with.
func (c *ControlPlane) StartComponent(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	logf, err := os.OpenFile(filepath.Join(c.Dir, "logs", name+".log"), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command("bash", filepath.Join(c.Dir, "run", name+".sh"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() // reap it when it exits
	f, err := os.OpenFile(filepath.Join(c.Dir, "pids"), os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = fmt.Fprintf(f, "%d %s\n", cmd.Process.Pid, name)
	return err
}

// WaitReady waits until the apiserver answers /readyz.
func (c *ControlPlane) WaitReady(ctx context.Context) error {
	cfg, err := c.Config()
	if err != nil {
		return err
	}
	cfg.Timeout = 2 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	for {
		if err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error(); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("apiserver not ready: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
