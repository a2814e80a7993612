package temporalui

import (
	"fmt"
	"net"
	"runtime"
	"strconv"
)

// freePort returns a TCP port on host that nothing listens on.
//
// On Linux, where ephemeral ports are handed out at random, the port is left
// in TIME_WAIT by a connection closed from the listening side: the kernel
// will not give it to another bind(:0) for a while, yet the UI server can
// still bind it (Go sets SO_REUSEADDR). This is the Temporal CLI's technique,
// as in internal/devserver.
func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("finding a free port for the Temporal UI on %q: %w", host, err)
	}
	defer l.Close()
	addr := l.Addr().(*net.TCPAddr)
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		return addr.Port, nil // ports are allocated sequentially there
	}
	c, err := net.DialTCP("tcp", nil, addr)
	if err != nil {
		return 0, fmt.Errorf("reserving port %d for the Temporal UI: %w", addr.Port, err)
	}
	defer c.Close()
	s, err := l.Accept()
	if err != nil {
		return 0, fmt.Errorf("reserving port %d for the Temporal UI: %w", addr.Port, err)
	}
	_ = s.Close() // server side first: TIME_WAIT stays on the listening port
	return addr.Port, nil
}

// checkPortFree reports whether host:port can be listened on.
func checkPortFree(host string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}
