package proxy

import (
	"os"
	"runtime"
)

// DefaultProcs is how many threads a sidecar proxy runs Go code on at once
// (GOMAXPROCS) unless told otherwise: one, as Linkerd runs its sidecar
// proxies with a single runtime worker and Consul its Envoy sidecars with
// one worker thread. A sidecar carries one pod's traffic and shares the
// pod's CPU with the app. Go's default is one per CPU of the node (or of
// the container's CPU limit), and with more than one, every goroutine
// handoff of a request (connection reader, handler, HTTP/2 frame writer)
// may wake an idle thread: in BenchmarkProxy on two cores the proxy used
// 10-15 % less CPU per request and had a lower median latency with one.
const DefaultProcs = 1

// SetProcs sets GOMAXPROCS to n for the proxy process, unless the
// environment sets GOMAXPROCS (the operator's choice wins) or n <= 0 (Go's
// default stays). Call it once, from main.
func SetProcs(n int) {
	if n <= 0 || os.Getenv("GOMAXPROCS") != "" {
		return
	}
	runtime.GOMAXPROCS(n)
}
