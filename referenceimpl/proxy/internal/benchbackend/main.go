// Command benchbackend is the app behind the proxy in BenchmarkProxy
// (package proxy's bench_test.go): net/http's server, HTTP/1.1 and h2c,
// answering every request with 1 KiB, in a process of its own as an app is
// in a mesh.
//
// It must not run in the benchmark's process. There the direct requests
// the proxied ones are compared with never leave the process: the client's
// goroutine and the server's hand over to each other on the same thread,
// without the two cross-process wakeups every real request between two
// pods pays, and "added latency" then charged those wakeups to the proxy
// (packet captures of BenchmarkProxy's HTTP/1.1 rounds: the backend took
// 42 µs to answer a direct request and 82 µs to answer the proxy's, the
// client 57 µs and 106 µs to send its next request).
//
// It prints its listener's address on stdout and serves until stdin
// closes.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
)

func main() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchbackend:", err)
		os.Exit(1)
	}
	body := strings.Repeat("x", 1024)
	var ps http.Protocols
	ps.SetHTTP1(true)
	ps.SetUnencryptedHTTP2(true)
	srv := &http.Server{Protocols: &ps, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "1024")
		io.WriteString(w, body)
	})}
	fmt.Println(l.Addr())
	go func() { io.Copy(io.Discard, os.Stdin); srv.Close() }()
	if err := srv.Serve(l); err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "benchbackend:", err)
		os.Exit(1)
	}
}
