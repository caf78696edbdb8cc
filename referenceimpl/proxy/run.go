package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"

	"gamma-conformance/referenceimpl/meshconfig"
)

// Run runs a proxy until ctx ends: it opens every listener first (a bad
// address fails whole), serves the admin endpoints, follows the config
// stream (or loads ConfigFile) and serves intercepted connections.
func Run(ctx context.Context, o Options) error {
	if o.ConfigFile != "" {
		snap, dst, err := LoadSnapshot(o.ConfigFile, o.Destination)
		if err != nil {
			return err
		}
		o.OriginalDst = func(net.Conn) (netip.AddrPort, error) { return dst, nil }
		o.Destination = dst
		p := New(o)
		if err := p.Apply(snap); err != nil {
			return fmt.Errorf("%s: %w", o.ConfigFile, err)
		}
		return p.run(ctx)
	}
	return New(o).run(ctx)
}

// LoadSnapshot reads a meshconfig.Snapshot from a JSON file and the
// destination its connections are taken as dialed to: dst, or when zero
// the first table's first VIP and port.
func LoadSnapshot(file string, dst netip.AddrPort) (*meshconfig.Snapshot, netip.AddrPort, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, dst, fmt.Errorf("--config-file: %w (fix: give the path of a meshconfig snapshot in JSON)", err)
	}
	var s meshconfig.Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, dst, fmt.Errorf("config file %s is not a meshconfig snapshot in JSON (fix: write it as /config_dump's \"snapshot\" field shows one): %w", file, err)
	}
	if dst.IsValid() {
		return &s, dst, nil
	}
	if len(s.Tables) == 0 || len(s.Tables[0].VIPs) == 0 {
		return nil, dst, fmt.Errorf("config file %s has no table with a VIP: give the destination explicitly (--destination VIP:PORT)", file)
	}
	vip, err := netip.ParseAddr(s.Tables[0].VIPs[0])
	if err != nil {
		return nil, dst, fmt.Errorf("config file %s: first VIP: %w", file, err)
	}
	return &s, netip.AddrPortFrom(vip, uint16(s.Tables[0].Port)), nil
}

func (p *Proxy) run(ctx context.Context) error {
	r := p.opts
	listeners, err := outboundListeners(r.OutboundPort, p.log)
	if err != nil {
		return err
	}
	servers := map[string]http.Handler{r.AdminAddr: p.AdminHandler()}
	if r.ReadyAddr != "" {
		servers[r.ReadyAddr] = p.ReadyHandler()
	}
	var https []*http.Server
	closeAll := func() {
		for _, l := range listeners {
			l.Close()
		}
		for _, s := range https {
			s.Close()
		}
	}
	for addr, h := range servers {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll()
			return fmt.Errorf("listening on %s: %w", addr, err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
		https = append(https, srv)
		go srv.Serve(l)
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	if r.ConfigFile == "" {
		wg.Go(func() { p.StreamConfig(ctx, r.Stream) })
		p.log.Info("gamma-proxy running", "namespace", p.opts.Namespace, "outbound_port", r.OutboundPort, "admin", r.AdminAddr, "control_plane", r.Stream.URL)
	} else {
		p.log.Info("gamma-proxy running standalone", "namespace", p.opts.Namespace, "outbound", listeners[0].Addr(), "admin", r.AdminAddr, "config_file", r.ConfigFile, "destination", r.Destination)
	}
	var errs []error
	var mu sync.Mutex
	for _, l := range listeners {
		wg.Go(func() {
			if err := p.Serve(ctx, l); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("outbound listener %s: %w", l.Addr(), err))
				mu.Unlock()
				stop()
			}
		})
	}
	<-ctx.Done()
	p.log.Info("shutting down")
	closeAll()
	wg.Wait()
	return errors.Join(errs...)
}

// outboundListeners listens on port on 127.0.0.1 and, if the host has
// IPv6, on ::1.
func outboundListeners(port int, log interface{ Info(string, ...any) }) ([]net.Listener, error) {
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("outbound port %d is out of range 1-65535", port)
	}
	out4, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("outbound listener: %w", err)
	}
	listeners := []net.Listener{out4}
	if out6, err := net.Listen("tcp6", net.JoinHostPort("::1", strconv.Itoa(port))); err == nil {
		listeners = append(listeners, out6)
	} else {
		log.Info("no IPv6 outbound listener", "error", err)
	}
	return listeners, nil
}
