// Command gamma-proxy is the reference mesh's sidecar proxy.
//
//	gamma-proxy init [flags]   install the interception rules (init container, NET_ADMIN)
//	gamma-proxy run [flags]    run the proxy (sidecar container, as the proxy UID)
//
// See package gamma-conformance/referenceimpl/proxy for what it does.
//
// In a pod (the image is this one static binary, built with CGO_ENABLED=0):
//
//   - an init container runs `gamma-proxy init` as root with the NET_ADMIN
//     capability: nftables rules send outbound TCP to 127.0.0.1:15001 (and
//     [::1]:15001), except traffic of UID 1337 and to loopback;
//   - the proxy runs `gamma-proxy run` as UID 1337, best as a native sidecar
//     (an init container with restartPolicy Always) with a startup probe on
//     :15021/ready, so the app starts only once the proxy has its config;
//     env POD_NAMESPACE (fieldRef metadata.namespace), GAMMA_CONTROL_PLANE
//     (https URL), GAMMA_CA_FILE, and GAMMA_TOKEN_FILE when the token is not
//     the default ServiceAccount token;
//   - 127.0.0.1:15000 serves /ready, /config_dump and /metrics for dumps;
//   - the proxy runs Go code on one thread at a time (GOMAXPROCS 1, as
//     sidecars commonly run one worker; see proxy.DefaultProcs): --procs or
//     env GOMAXPROCS change it. After activity it polls its sockets for
//     100 µs before its thread sleeps (proxy.DefaultBusyPoll; --busy-poll).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"gamma-conformance/referenceimpl/proxy"
)

const (
	defaultProxyPort = 15001
	defaultProxyUID  = 1337
)

func main() {
	args := os.Args[1:]
	cmd := "run"
	if len(args) > 0 && (args[0] == "init" || args[0] == "run") {
		cmd, args = args[0], args[1:]
	}
	var err error
	if cmd == "init" {
		err = initCmd(args)
	} else {
		err = runCmd(args)
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gamma-proxy %s: %v\n", cmd, err)
		os.Exit(1)
	}
}

func initCmd(args []string) error {
	fs := flag.NewFlagSet("gamma-proxy init", flag.ContinueOnError)
	port := fs.Uint("proxy-port", defaultProxyPort, "port of the proxy's outbound listener")
	uid := fs.Uint("proxy-uid", defaultProxyUID, "UID the proxy runs as; its connections are not redirected")
	remove := fs.Bool("remove", false, "remove the rules instead of installing them")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *remove {
		return proxy.RemoveInterception()
	}
	if *port < 1 || *port > 65535 {
		return fmt.Errorf("--proxy-port %d is out of range 1-65535", *port)
	}
	if err := proxy.Intercept(uint16(*port), uint32(*uid)); err != nil {
		return err
	}
	fmt.Printf("outbound TCP now goes to port %d, except for UID %d and loopback\n", *port, *uid)
	return nil
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func runCmd(args []string) error {
	fs := flag.NewFlagSet("gamma-proxy run", flag.ContinueOnError)
	ns := fs.String("namespace", os.Getenv("POD_NAMESPACE"), "the pod's namespace (env POD_NAMESPACE, from the Downward API)")
	port := fs.Uint("outbound-port", defaultProxyPort, "port the interception rules redirect to; listens on 127.0.0.1 and ::1")
	adminAddr := fs.String("admin-addr", "127.0.0.1:15000", "admin server: /ready, /config_dump, /metrics")
	readyAddr := fs.String("ready-addr", ":15021", "address serving only /ready, for the kubelet's probe (empty: off)")
	cp := fs.String("control-plane", os.Getenv("GAMMA_CONTROL_PLANE"), "control plane base URL, https (env GAMMA_CONTROL_PLANE)")
	ca := fs.String("ca-file", os.Getenv("GAMMA_CA_FILE"), "PEM CA of the control plane's certificate (env GAMMA_CA_FILE)")
	caPEM := os.Getenv("GAMMA_CA_PEM") // the CA itself, as the injector passes it
	token := fs.String("token-file", env("GAMMA_TOKEN_FILE", "/var/run/secrets/kubernetes.io/serviceaccount/token"), "ServiceAccount token file (env GAMMA_TOKEN_FILE)")
	debug := fs.Bool("debug", false, "log every connection error and config frame")
	procs := fs.Int("procs", proxy.DefaultProcs, "threads running the proxy's Go code at once (GOMAXPROCS; 0: Go's default, one per CPU); env GOMAXPROCS overrides it")
	busyPoll := fs.Duration("busy-poll", proxy.DefaultBusyPoll, "how long the proxy polls its sockets after activity before its thread sleeps (0: never); costs up to that much CPU per burst")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *ns == "":
		return errors.New("no namespace: set --namespace or POD_NAMESPACE (fieldRef metadata.namespace)")
	case *cp == "":
		return errors.New("no control plane: set --control-plane or GAMMA_CONTROL_PLANE to its https URL")
	case *ca == "" && caPEM == "":
		return errors.New("no CA: set --ca-file or GAMMA_CA_FILE to the control plane's CA bundle (or GAMMA_CA_PEM to the bundle itself)")
	case *port < 1 || *port > 65535:
		return fmt.Errorf("--outbound-port %d is out of range 1-65535", *port)
	case *procs < 0:
		return fmt.Errorf("--procs %d is negative", *procs)
	case *busyPoll < 0 || *busyPoll > 10*time.Millisecond:
		return fmt.Errorf("--busy-poll %v is out of range 0-10ms", *busyPoll)
	}
	proxy.SetProcs(*procs)
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// Open every listener before serving anything: a bad address fails whole.
	out4, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(*port))))
	if err != nil {
		return fmt.Errorf("outbound listener: %w", err)
	}
	listeners := []net.Listener{out4}
	if out6, err := net.Listen("tcp6", net.JoinHostPort("::1", strconv.Itoa(int(*port)))); err == nil {
		listeners = append(listeners, out6)
	} else {
		log.Info("no IPv6 outbound listener", "error", err)
	}
	p := proxy.New(proxy.Options{Namespace: *ns, Logger: log, BusyPoll: *busyPoll})
	servers := map[string]http.Handler{*adminAddr: p.AdminHandler()}
	if *readyAddr != "" {
		servers[*readyAddr] = p.ReadyHandler()
	}
	var https []*http.Server
	for addr, h := range servers {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return fmt.Errorf("listening on %s: %w", addr, err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		https = append(https, srv)
		go srv.Serve(l)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log.Info("gamma-proxy running", "namespace", *ns, "outbound_port", *port, "admin", *adminAddr, "control_plane", *cp)
	var wg sync.WaitGroup
	wg.Go(func() {
		p.StreamConfig(ctx, proxy.StreamOptions{URL: *cp, CAFile: *ca, CAPEM: []byte(caPEM), TokenFile: *token})
	})
	for _, l := range listeners {
		wg.Go(func() {
			if err := p.Serve(ctx, l); err != nil {
				log.Error("outbound listener failed", "addr", l.Addr(), "error", err)
				stop()
			}
		})
	}
	<-ctx.Done()
	log.Info("shutting down")
	for _, s := range https {
		s.Close()
	}
	wg.Wait()
	return nil
}
