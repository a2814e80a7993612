package devserver

import (
	"fmt"
	"net"
	"runtime"
)

const loopback = "127.0.0.1"

// freePort returns a loopback TCP port that nothing listens on.
//
// On Linux, where ephemeral ports are handed out at random, the port is left
// in TIME_WAIT by a connection closed from the listening side: the kernel
// will not give it to another bind(:0) for a while, yet the server can still
// bind it (Go sets SO_REUSEADDR). This is the Temporal CLI's technique.
func freePort() (int, error) {
	l, err := net.Listen("tcp", loopback+":0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port on %s: %w", loopback, err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		return port, nil // ports are allocated sequentially there
	}
	c, err := net.DialTCP("tcp", nil, l.Addr().(*net.TCPAddr))
	if err != nil {
		return 0, fmt.Errorf("reserving port %d: %w", port, err)
	}
	defer c.Close()
	s, err := l.Accept()
	if err != nil {
		return 0, fmt.Errorf("reserving port %d: %w", port, err)
	}
	_ = s.Close() // server side first: TIME_WAIT stays on the listening port
	return port, nil
}

// checkPortFree reports whether a chosen port can be listened on, so a busy
// port is a clear error rather than a server that fails half-started.
func checkPortFree(port int) error {
	l, err := net.Listen("tcp", fmt.Sprintf("%s:%d", loopback, port))
	if err != nil {
		return err
	}
	return l.Close()
}
