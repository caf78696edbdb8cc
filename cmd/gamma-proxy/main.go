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
//   - standalone, for studying the proxy or testing its protocols on
//     loopback: `gamma-proxy run --config-file snapshot.json` serves a
//     fixed meshconfig snapshot with no control plane and no interception,
//     every connection to --outbound-port taken as dialed to --destination;
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
	"net/netip"
	"os"
	"os/signal"
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
	var o proxy.Options
	fs := flag.NewFlagSet("gamma-proxy run", flag.ContinueOnError)
	fs.StringVar(&o.Namespace, "namespace", os.Getenv("POD_NAMESPACE"), "the pod's namespace (env POD_NAMESPACE, from the Downward API)")
	port := fs.Uint("outbound-port", defaultProxyPort, "port the interception rules redirect to; listens on 127.0.0.1 and ::1")
	fs.StringVar(&o.AdminAddr, "admin-addr", "127.0.0.1:15000", "admin server: /ready, /config_dump, /metrics")
	fs.StringVar(&o.ReadyAddr, "ready-addr", ":15021", "address serving only /ready, for the kubelet's probe (empty: off)")
	fs.StringVar(&o.Stream.URL, "control-plane", os.Getenv("GAMMA_CONTROL_PLANE"), "control plane base URL, https (env GAMMA_CONTROL_PLANE)")
	fs.StringVar(&o.Stream.CAFile, "ca-file", os.Getenv("GAMMA_CA_FILE"), "PEM CA of the control plane's certificate (env GAMMA_CA_FILE)")
	o.Stream.CAPEM = []byte(os.Getenv("GAMMA_CA_PEM")) // the CA itself, as the injector passes it
	fs.StringVar(&o.Stream.TokenFile, "token-file", env("GAMMA_TOKEN_FILE", "/var/run/secrets/kubernetes.io/serviceaccount/token"), "ServiceAccount token file (env GAMMA_TOKEN_FILE)")
	fs.StringVar(&o.ConfigFile, "config-file", "", "run standalone from this meshconfig snapshot (JSON) instead of a control plane, without interception: every connection to the outbound port is taken as dialed to --destination")
	dst := fs.String("destination", "", "with --config-file: the VIP:PORT every connection is taken as dialed to (default: the file's first table's first VIP and port)")
	debug := fs.Bool("debug", false, "log every connection error and config frame")
	procs := fs.Int("procs", proxy.DefaultProcs, "threads running the proxy's Go code at once (GOMAXPROCS; 0: Go's default, one per CPU); env GOMAXPROCS overrides it")
	fs.DurationVar(&o.BusyPoll, "busy-poll", proxy.DefaultBusyPoll, "how long the proxy polls its sockets after activity before its thread sleeps (0: never); costs up to that much CPU per burst")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkRunFlags(&o, *port, *dst, *procs); err != nil {
		return err
	}
	proxy.SetProcs(*procs)
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return proxy.Run(ctx, o)
}

// checkRunFlags checks the flags of run and sets what they derive.
func checkRunFlags(o *proxy.Options, port uint, dst string, procs int) error {
	if o.ConfigFile != "" && o.Namespace == "" {
		o.Namespace = "default"
	}
	if dst != "" {
		d, err := netip.ParseAddrPort(dst)
		if err != nil {
			return fmt.Errorf("--destination %q is not VIP:PORT (e.g. 10.96.0.10:80): %v", dst, err)
		}
		o.Destination = d
	}
	o.OutboundPort = int(port)
	switch {
	case dst != "" && o.ConfigFile == "":
		return errors.New("--destination needs --config-file (standalone mode)")
	case o.Namespace == "":
		return errors.New("no namespace: set --namespace or POD_NAMESPACE (fieldRef metadata.namespace)")
	case o.ConfigFile == "" && o.Stream.URL == "":
		return errors.New("no control plane: set --control-plane or GAMMA_CONTROL_PLANE to its https URL (or --config-file to run standalone)")
	case o.ConfigFile == "" && o.Stream.CAFile == "" && len(o.Stream.CAPEM) == 0:
		return errors.New("no CA: set --ca-file or GAMMA_CA_FILE to the control plane's CA bundle (or GAMMA_CA_PEM to the bundle itself)")
	case port < 1 || port > 65535:
		return fmt.Errorf("--outbound-port %d is out of range 1-65535", port)
	case procs < 0:
		return fmt.Errorf("--procs %d is negative", procs)
	case o.BusyPoll < 0 || o.BusyPoll > 10*time.Millisecond:
		return fmt.Errorf("--busy-poll %v is out of range 0-10ms", o.BusyPoll)
	}
	return nil
}
