package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"gamma-conformance/referenceimpl/meshconfig"
)

// TestInterceptionInNetns is the end-to-end test of the binary: in a network
// namespace of its own it runs `gamma-proxy init`, then `gamma-proxy run` as
// UID 1337 against a control plane speaking the real protocol, and checks
// that a root process's connections to a Service VIP (IPv4 and IPv6) are
// intercepted and routed while a pod-IP connection passes through. Needs
// root and the `ip` command; the namespace (with its veth pair, standing in
// for the pod's interface) is always deleted.
func TestInterceptionInNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs the ip command (iproute2)")
	}
	ns := fmt.Sprintf("gamma-proxy-test-%d", os.Getpid())
	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "add", "pod0", "type", "veth", "peer", "name", "pod1"},
		{"link", "set", "pod0", "up"},
		{"link", "set", "pod1", "up"},
		{"addr", "add", "10.99.0.2/24", "dev", "pod0"},
		{"-6", "addr", "add", "fd00:99::2/64", "dev", "pod0", "nodad"},
		{"route", "add", "10.96.0.0/16", "dev", "pod0"},
		{"-6", "route", "add", "fd00:96::/64", "dev", "pod0"},
	} {
		run(t, "ip", append([]string{"-n", ns}, args...)...)
	}

	dir, err := os.MkdirTemp("", "gamma-proxy-e2e")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755) // the proxy runs as UID 1337
	bin := filepath.Join(dir, "gamma-proxy")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building gamma-proxy: %v\n%s", err, out)
	}
	if out, err := inNetnsCmd(t, ns, exec.Command(bin, "init"), 0).CombinedOutput(); err != nil {
		t.Fatalf("gamma-proxy init: %v\n%s", err, out)
	}

	// The backend lives on the pod's own address, as a pod IP would.
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend saw host %s", r.Host)
	}))
	backend.Listener.Close()
	backend.Listener = listenIn(t, ns, "tcp", "10.99.0.2:8080")
	backend.Start()
	defer backend.Close()
	backend6 := httptest.NewUnstartedServer(backend.Config.Handler)
	backend6.Listener.Close()
	backend6.Listener = listenIn(t, ns, "tcp", "[fd00:99::2]:8080")
	backend6.Start()
	defer backend6.Close()

	tbl := func(vip string, ep string) meshconfig.Table {
		return meshconfig.Table{
			Service: meshconfig.ServiceKey{Namespace: "ns", Name: "echo"}, Port: 80, VIPs: []string{vip}, Protocol: meshconfig.ProtocolHTTP,
			HTTP: &meshconfig.HTTPTable{
				Rules: []meshconfig.HTTPRule{{
					Route:           meshconfig.RouteKey{Kind: "HTTPRoute", Namespace: "ns", Name: "r"},
					Backends:        meshconfig.Backends{{Name: "ns/echo-v1:8080", Weight: 1, Endpoints: []string{ep}}},
					ResponseHeaders: &meshconfig.HeaderModifier{Set: []meshconfig.Header{{Name: "X-Mesh", Value: "routed"}}},
				}},
				Matches: []meshconfig.HTTPMatch{{Path: meshconfig.StringMatch{Type: meshconfig.MatchPathPrefix, Value: "/"}}},
			},
		}
	}
	snap := &meshconfig.Snapshot{Version: 7, Tables: []meshconfig.Table{tbl("10.96.0.10", "10.99.0.2:8080"), tbl("fd00:96::10", "[fd00:99::2]:8080")}}
	cp := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" || r.URL.Path != meshconfig.StreamPath {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		meshconfig.WriteFrame(w, snap)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	cp.Listener.Close()
	cp.Listener = listenIn(t, ns, "tcp", "127.0.0.1:0")
	cp.EnableHTTP2 = true
	cp.StartTLS()
	defer func() { cp.CloseClientConnections(); cp.Close() }()
	ca, token := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "token")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cp.Certificate().Raw}), 0o644)
	os.WriteFile(token, []byte("tok"), 0o644)

	proxy := inNetnsCmd(t, ns, exec.Command(bin, "run", "--namespace=client-ns", "--control-plane="+cp.URL,
		"--ca-file="+ca, "--token-file="+token, "--ready-addr="), 1337)
	var logs strings.Builder
	proxy.Stdout, proxy.Stderr = &logs, &logs
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		proxy.Process.Signal(syscall.SIGTERM)
		proxy.Wait()
		if t.Failed() {
			t.Logf("proxy log:\n%s", logs.String())
		}
	}()

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (c net.Conn, err error) {
			inNetns(t, ns, func() { c, err = (&net.Dialer{}).DialContext(ctx, network, addr) })
			return c, err
		},
	}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get("http://127.0.0.1:15000/ready")
		if err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			break
		}
		if err == nil {
			resp.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("proxy not ready after 20s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for url, want := range map[string]string{
		"http://10.96.0.10/":       "routed",
		"http://[fd00:96::10]/":    "routed",
		"http://10.99.0.2:8080/":   "",
		"http://[fd00:99::2]:8080": "",
	} {
		resp, err := client.Get(url)
		if err != nil {
			t.Errorf("%s: %v", url, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Mesh") != want || !strings.HasPrefix(string(body), "backend saw") {
			t.Errorf("%s: got %d X-Mesh=%q %q, want 200 X-Mesh=%q", url, resp.StatusCode, resp.Header.Get("X-Mesh"), body, want)
		}
	}
	resp, err := client.Get("http://127.0.0.1:15000/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`gamma_proxy_connections_total{kind="http"} 2`, `gamma_proxy_connections_total{kind="passthrough"} 2`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s (the connections were not all intercepted):\n%s", want, metrics)
		}
	}
	resp, err = client.Get("http://127.0.0.1:15000/config_dump")
	if err != nil {
		t.Fatal(err)
	}
	var dump struct{ Version uint64 }
	json.NewDecoder(resp.Body).Decode(&dump)
	resp.Body.Close()
	if dump.Version != 7 {
		t.Errorf("config_dump version %d, want 7", dump.Version)
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// inNetns runs fn on an OS thread switched into network namespace ns.
// Sockets created by fn, and processes it starts, stay in ns.
func inNetns(t *testing.T, ns string, fn func()) {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: it exits with the goroutine.
		t.Error(err)
		return
	}
	runtime.UnlockOSThread()
}

func listenIn(t *testing.T, ns, network, addr string) (l net.Listener) {
	var err error
	inNetns(t, ns, func() { l, err = net.Listen(network, addr) })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// inNetnsCmd makes cmd start inside ns as uid (0: unchanged).
type netnsCmd struct {
	*exec.Cmd
	t  *testing.T
	ns string
}

func inNetnsCmd(t *testing.T, ns string, cmd *exec.Cmd, uid uint32) netnsCmd {
	if uid != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	}
	return netnsCmd{cmd, t, ns}
}

func (c netnsCmd) Start() (err error) {
	inNetns(c.t, c.ns, func() { err = c.Cmd.Start() })
	return err
}

func (c netnsCmd) CombinedOutput() ([]byte, error) {
	var out strings.Builder
	c.Cmd.Stdout, c.Cmd.Stderr = &out, &out
	if err := c.Start(); err != nil {
		return nil, err
	}
	err := c.Cmd.Wait()
	return []byte(out.String()), err
}
