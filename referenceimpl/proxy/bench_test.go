package proxy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gamma-conformance/referenceimpl/meshconfig"
)

// BenchmarkProxy measures, in one run, a proxy process against a direct
// connection to the same backend (1 KiB responses, keep-alive), for
// HTTP/1.1 and h2c: added latency p50/p99 (one connection, sequential
// requests, 30 interleaved rounds of 100 each way), throughput ratio
// (16 concurrent clients, ten interleaved 0.2 s rounds each way) and the RSS
// of a fresh proxy process during 3 s at 1000 HTTP/1.1 requests/s. The proxy
// process is internal/benchproxy, built by the benchmark: the proxy package
// run as gamma-proxy runs it, without the test binary's dependencies. The
// backend is internal/benchbackend, in a process of its own as the app is
// (its doc says why it must not run in the benchmark's process).
// GAMMA_PROXY_BENCH_BIN=<file> measures that proxy process instead, such as
// internal/benchproxy built from another commit, for an A/B comparison. The
// headline figures are the worse of the two protocols. Run it with
// -benchtime=1x: one iteration is the whole measurement.
func BenchmarkProxy(b *testing.B) {
	backendAddr, _, stopBackend := startBenchProcess(b, buildBenchCommand(b, "benchbackend"), nil)
	defer stopBackend()

	snap := &meshconfig.Snapshot{Version: 1, Tables: []meshconfig.Table{table(vip, 80, &meshconfig.HTTPTable{
		Rules: []meshconfig.HTTPRule{rule("bench", backend("backend", 1, backendAddr))}, Matches: []meshconfig.HTTPMatch{prefix(0, "/")},
	})}}
	bin := os.Getenv("GAMMA_PROXY_BENCH_BIN")
	if bin == "" {
		bin = buildBenchCommand(b, "benchproxy")
	}
	proxyAddr, proxyPID, stop := startBenchProxy(b, bin, snap)
	defer stop()

	var worstP50, worstP99, worstRatio float64 = 0, 0, 1e9
	for b.Loop() {
		for _, proto := range []string{"http1", "h2c"} {
			h2c := proto == "h2c"
			direct, proxied := benchClient(backendAddr, h2c), benchClient(proxyAddr, h2c)
			// Direct and proxied rounds alternate, each pair in the other
			// order from the last, in rounds short next to the bursts of
			// other work on a shared machine, so that such load hits both
			// sides alike; the figures are over all rounds together.
			var dLat, pLat []time.Duration
			for i := range 30 {
				pair(i, func() { dLat = append(dLat, latencies(b, direct, 100)...) },
					func() { pLat = append(pLat, latencies(b, proxied, 100)...) })
			}
			p50 := us(pct(pLat, 50) - pct(dLat, 50))
			p99 := us(pct(pLat, 99) - pct(dLat, 99))
			const rounds = 10
			var dRPS, pRPS, cpu float64
			for i := range rounds {
				pair(i, func() { dRPS += throughput(b, direct, 16, 200*time.Millisecond) / rounds },
					func() {
						before := cpuSeconds(b, proxyPID)
						pRPS += throughput(b, proxied, 16, 200*time.Millisecond) / rounds
						cpu += cpuSeconds(b, proxyPID) - before
					})
			}
			// CPU time of the proxy process per proxied request.
			b.ReportMetric(cpu/(pRPS*rounds*0.2)*1e6, "proxy_"+proto+"_cpu_us_per_req")
			ratio := pRPS / dRPS
			b.ReportMetric(p50, "proxy_"+proto+"_p50_added_us")
			b.ReportMetric(p99, "proxy_"+proto+"_p99_added_us")
			b.ReportMetric(ratio, "proxy_"+proto+"_throughput_ratio")
			b.Logf("%s: direct p50 %v p99 %v %.0f rps; proxied p50 %v p99 %v %.0f rps", proto,
				pct(dLat, 50), pct(dLat, 99), dRPS, pct(pLat, 50), pct(pLat, 99), pRPS)
			worstP50, worstP99, worstRatio = max(worstP50, p50), max(worstP99, p99), min(worstRatio, ratio)
			direct.CloseIdleConnections()
			proxied.CloseIdleConnections()
		}
		// A fresh proxy process, so the RSS is that of 1000 rps and not
		// what the throughput runs left behind.
		addr, pid, stopRSS := startBenchProxy(b, bin, snap)
		b.ReportMetric(rssAtRate(b, benchClient(addr, false), pid, 1000, 3*time.Second), "proxy_rss_mb")
		stopRSS()
	}
	b.ReportMetric(worstP50, "proxy_p50_added_us")
	b.ReportMetric(worstP99, "proxy_p99_added_us")
	b.ReportMetric(worstRatio, "proxy_throughput_ratio")
}

// buildBenchCommand builds the command internal/<name> (benchproxy: the
// proxy's code alone, so that its RSS and CPU are the proxy's and not those
// of the test binary with its test-only dependencies; benchbackend: the
// app).
func buildBenchCommand(b *testing.B, name string) string {
	bin := filepath.Join(b.TempDir(), name)
	out, err := exec.Command("go", "build", "-buildvcs=false", "-o", bin, "gamma-conformance/referenceimpl/proxy/internal/"+name).CombinedOutput()
	if err != nil {
		b.Fatalf("building %s: %v\n%s", name, err, out)
	}
	return bin
}

// startBenchProxy starts the proxy process bin serving snap; stop ends it.
// GAMMA_PROXY_BENCH_CPUPROFILE=<file> in the environment makes it write a
// CPU profile there.
func startBenchProxy(b *testing.B, bin string, snap *meshconfig.Snapshot) (addr string, pid int, stop func()) {
	js, _ := json.Marshal(snap)
	return startBenchProcess(b, bin, []string{"GAMMA_PROXY_BENCH_SNAPSHOT=" + string(js)})
}

// startBenchProcess starts bin with env added to the benchmark's, reads the
// address it prints as its first line and returns it with the process's
// pid; stop closes its stdin, which ends it, and waits for it.
func startBenchProcess(b *testing.B, bin string, env []string) (addr string, pid int, stop func()) {
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		b.Fatalf("%s: %v", filepath.Base(bin), err)
	}
	return strings.TrimSpace(line), cmd.Process.Pid, func() { stdin.Close(); cmd.Wait() }
}

// pair runs the i-th pair of a direct and a proxied round, direct first
// when i is even.
func pair(i int, direct, proxied func()) {
	if i%2 == 1 {
		direct, proxied = proxied, direct
	}
	direct()
	proxied()
}

func benchClient(addr string, h2c bool) *http.Client {
	var ps http.Protocols
	if h2c {
		ps.SetUnencryptedHTTP2(true)
	} else {
		ps.SetHTTP1(true)
	}
	d := &net.Dialer{}
	return &http.Client{Transport: &http.Transport{
		Protocols:           &ps,
		MaxIdleConnsPerHost: 64,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}
}

func fetch(b *testing.B, c *http.Client) {
	resp, err := c.Get("http://" + vip + "/")
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || n != 1024 {
		b.Fatalf("got %d with %d bytes", resp.StatusCode, n)
	}
}

func latencies(b *testing.B, c *http.Client, n int) []time.Duration {
	fetch(b, c) // warm the connection
	out := make([]time.Duration, n)
	for i := range out {
		start := time.Now()
		fetch(b, c)
		out[i] = time.Since(start)
	}
	return out
}

func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func throughput(b *testing.B, c *http.Client, workers int, d time.Duration) float64 {
	var n atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				fetch(b, c)
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}

// rssAtRate sends rps requests per second for d and returns the proxy
// process's highest resident set size seen, in MB.
func rssAtRate(b *testing.B, c *http.Client, pid, rps int, d time.Duration) float64 {
	tick := time.NewTicker(time.Second / time.Duration(rps))
	defer tick.Stop()
	var wg sync.WaitGroup
	var peak float64
	end := time.Now().Add(d)
	for i := 0; time.Now().Before(end); i++ {
		<-tick.C
		wg.Go(func() { fetch(b, c) })
		if i%100 == 0 {
			peak = max(peak, rssMB(b, pid))
		}
	}
	wg.Wait()
	return max(peak, rssMB(b, pid))
}

func rssMB(b *testing.B, pid int) float64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	b.Fatal("no VmRSS in /proc/pid/status")
	return 0
}

// cpuSeconds is the CPU time (user and system) process pid has used.
func cpuSeconds(b *testing.B, pid int) float64 {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // clock ticks: USER_HZ is 100 on Linux
}
