package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"gamma-conformance/referenceimpl/meshconfig"
)

// protocolHandler is the backend of the protocol suites, and the handler
// of their baseline server: it reads the request body and answers "ok".
var protocolHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "ok\n")
})

// startStandaloneProxy builds cmd/gamma-proxy and runs it as a new user
// would study it: `gamma-proxy run --config-file` with one route to
// backend on loopback. It returns the proxy's address.
func startStandaloneProxy(t *testing.T, backend string) (addr string, pid int) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "gamma-proxy")
	if out, err := exec.Command("go", "build", "-o", bin, "gamma-conformance/cmd/gamma-proxy").CombinedOutput(); err != nil {
		t.Fatalf("building gamma-proxy: %v\n%s", err, out)
	}
	snap := &meshconfig.Snapshot{Version: 1, Tables: []meshconfig.Table{table(vip, 80, &meshconfig.HTTPTable{
		Rules: []meshconfig.HTTPRule{rule("protocol", backend_("backend", 1, backend))}, Matches: []meshconfig.HTTPMatch{prefix(0, "/")},
	})}}
	js, _ := json.Marshal(snap)
	cfg := filepath.Join(dir, "snapshot.json")
	if err := os.WriteFile(cfg, js, 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	cmd := exec.Command(bin, "run", "--config-file", cfg, "--outbound-port", fmt.Sprint(port), "--admin-addr", "127.0.0.1:0", "--ready-addr", "")
	// The proxy dies with the test binary, also when a failure ends it
	// (grpc-go's interop cases call log.Fatal) before any cleanup runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "running standalone") {
			// Its log (a panic, say) goes with the test's.
			go io.Copy(os.Stderr, stderr)
			return fmt.Sprintf("127.0.0.1:%d", port), cmd.Process.Pid
		}
	}
	t.Fatalf("gamma-proxy did not start: %v", sc.Err())
	return "", 0
}

var backend_ = backend

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// h2cBaseline serves h with golang.org/x/net/http2's server, h2c with prior
// knowledge, and nothing in front: what the proxy's h2c side is held to.
func h2cBaseline(t *testing.T, h http.Handler) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http2.Server{}
	quiet := &http.Server{ErrorLog: log.New(io.Discard, "", 0)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go srv.ServeConn(c, &http2.ServeConnOpts{Context: ctx, Handler: h, BaseConfig: quiet})
		}
	}()
	t.Cleanup(func() { cancel(); l.Close() })
	return l.Addr().String()
}

// TestH2Spec runs h2spec (GAMMA_H2SPEC: its binary; make protocol builds
// it) against the standalone proxy and against x/net's h2c server in the
// same run: the proxy must pass every case the baseline passes.
func TestH2Spec(t *testing.T) {
	bin := os.Getenv("GAMMA_H2SPEC")
	if bin == "" {
		t.Skip("GAMMA_H2SPEC is not set: make protocol builds h2spec and sets it")
	}
	be := httptest.NewUnstartedServer(protocolHandler)
	be.Config.Protocols = serverProtocols()
	be.Start()
	t.Cleanup(be.Close)
	proxyAddr, _ := startStandaloneProxy(t, be.Listener.Addr().String())
	base := runH2Spec(t, bin, h2cBaseline(t, protocolHandler))
	got := runH2Spec(t, bin, proxyAddr)
	var regressions []string
	nBase, nProxy := 0, 0
	for id, ok := range base {
		if ok {
			nBase++
		}
		if got[id] {
			nProxy++
		}
		if ok && !got[id] {
			regressions = append(regressions, id)
		}
	}
	slices.Sort(regressions)
	t.Logf("h2spec: proxy passes %d/%d, x/net's server %d/%d", nProxy, len(got), nBase, len(base))
	fmt.Printf("h2spec_proxy_passed=%d h2spec_baseline_passed=%d h2spec_cases=%d\n", nProxy, nBase, len(base))
	if len(regressions) > 0 {
		t.Errorf("the proxy fails %d h2spec cases x/net's server passes:\n%s", len(regressions), strings.Join(regressions, "\n"))
	}
}

// runH2Spec runs h2spec's default set against addr and returns each
// case's result by "section/number description".
func runH2Spec(t *testing.T, bin, addr string) map[string]bool {
	host, port, _ := net.SplitHostPort(addr)
	report := filepath.Join(t.TempDir(), "h2spec.xml")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "-h", host, "-p", port, "-o", "2", "-j", report).CombinedOutput()
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("h2spec wrote no report: %v\n%s", err, out)
	}
	var r struct {
		Suites []struct {
			Package string `xml:"package,attr"`
			Cases   []struct {
				ClassName string    `xml:"classname,attr"`
				Failure   *struct{} `xml:"failure"`
				Error     *struct{} `xml:"error"`
				Skipped   *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &r); err != nil {
		t.Fatalf("h2spec report: %v", err)
	}
	res := make(map[string]bool)
	for _, s := range r.Suites {
		for i, c := range s.Cases {
			res[fmt.Sprintf("%s/%d %s", s.Package, i+1, c.ClassName)] = c.Failure == nil && c.Error == nil && c.Skipped == nil
		}
	}
	if len(res) == 0 {
		t.Fatalf("h2spec ran no case:\n%s", out)
	}
	return res
}

// TestStalledStreamsBounded opens 100 h2c streams on one connection to the
// standalone proxy, each for an 8 MiB response, and never gives any flow
// control credit back: what the proxy buffers for them stays bounded (it
// held 4.5 MB per stream, 477 MB in all, with a 4 MiB backend stream window).
func TestStalledStreamsBounded(t *testing.T) {
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	be := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 256 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	be.Config.Protocols = serverProtocols()
	be.Start()
	t.Cleanup(be.Close)
	addr, pid := startStandaloneProxy(t, be.Listener.Addr().String())
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, c)
	fr.WriteSettings()
	var hbuf bytes.Buffer
	enc := hpack.NewEncoder(&hbuf)
	for i := range 100 {
		hbuf.Reset()
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", vip}, {":path", "/big"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: uint32(2*i + 1), BlockFragment: hbuf.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
	}
	// Read (and drop) what comes, without a WINDOW_UPDATE ever.
	go io.Copy(io.Discard, c)
	time.Sleep(3 * time.Second)
	rss := rssOf(t, pid)
	t.Logf("proxy RSS with 100 stalled streams: %.1f MB", rss)
	fmt.Printf("proxy_stalled_streams_rss_mb=%.1f\n", rss)
	if rss > 64 {
		t.Errorf("proxy RSS with 100 stalled streams is %.1f MB, want at most 64", rss)
	}
}

// rssOf is process pid's resident set size, in MB.
func rssOf(t *testing.T, pid int) float64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			var kb float64
			fmt.Sscan(f[1], &kb)
			return kb / 1024
		}
	}
	t.Fatal("no VmRSS in /proc/pid/status")
	return 0
}
