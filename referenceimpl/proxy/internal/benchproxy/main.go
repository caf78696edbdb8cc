// Command benchproxy is the proxy process of BenchmarkProxy (package
// proxy's bench_test.go): the sidecar proxy, as gamma-proxy runs it, serving
// one configuration snapshot on a loopback port, with neither interception
// nor a control plane. The benchmark builds and runs it so that what it
// measures (CPU, RSS) is a binary holding the proxy and nothing else, not
// the test binary with its test-only dependencies.
//
// Like gamma-proxy run, it runs with proxy.DefaultProcs (SetProcs) and
// proxy.DefaultBusyPoll.
//
// It reads the snapshot as JSON from env GAMMA_PROXY_BENCH_SNAPSHOT, prints
// its listener's address on stdout and serves until stdin closes. Every
// connection is taken as dialed to the first table's first VIP and port, as
// if intercepted. With GAMMA_PROXY_BENCH_CPUPROFILE=<file> it writes a CPU
// profile of itself there.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/pprof"

	"gamma-conformance/referenceimpl/meshconfig"
	"gamma-conformance/referenceimpl/proxy"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchproxy:", err)
		os.Exit(1)
	}
}

func run() error {
	proxy.SetProcs(proxy.DefaultProcs)
	var s meshconfig.Snapshot
	if err := json.Unmarshal([]byte(os.Getenv("GAMMA_PROXY_BENCH_SNAPSHOT")), &s); err != nil {
		return fmt.Errorf("GAMMA_PROXY_BENCH_SNAPSHOT: %w", err)
	}
	if len(s.Tables) == 0 || len(s.Tables[0].VIPs) == 0 {
		return fmt.Errorf("the snapshot has no table with a VIP")
	}
	vip, err := netip.ParseAddr(s.Tables[0].VIPs[0])
	if err != nil {
		return err
	}
	dst := netip.AddrPortFrom(vip, uint16(s.Tables[0].Port))
	p := proxy.New(proxy.Options{
		OriginalDst: func(net.Conn) (netip.AddrPort, error) { return dst, nil },
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		BusyPoll:    proxy.DefaultBusyPoll,
	})
	if err := p.Apply(&s); err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if f := os.Getenv("GAMMA_PROXY_BENCH_CPUPROFILE"); f != "" {
		out, err := os.Create(f)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(out); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Println(l.Addr())
	ctx, cancel := context.WithCancel(context.Background())
	go func() { io.Copy(io.Discard, os.Stdin); cancel() }()
	return p.Serve(ctx, l)
}
