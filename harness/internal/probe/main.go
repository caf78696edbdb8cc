// Command probe is the small static program of the cluster smoke tests'
// image: an HTTP server that names its host, an HTTP client, and DNS
// lookups that print the answer or the response code.
//
//	probe serve :8080      serve "hostname=<name>" and log each request
//	probe get URL          print the body of a GET (exit 1 on failure)
//	probe lookup NAME      resolve with the pod's resolver (search paths)
//	probe rcode FQDN       ask the pod's name server, print the response code
//	probe mtu BYTES        set the loopback MTU (needs CAP_NET_ADMIN in the pod)
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) != 3 {
		fail("usage: probe serve ADDR | get URL | lookup NAME | rcode FQDN")
	}
	arg := os.Args[2]
	switch os.Args[1] {
	case "serve":
		host, _ := os.Hostname()
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			fmt.Printf("request from %s for %s\n", r.RemoteAddr, r.URL.Path)
			fmt.Fprintf(w, "hostname=%s\n", host)
		})
		fmt.Printf("serving on %s\n", arg)
		fail(http.ListenAndServe(arg, nil))
	case "get":
		c := http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get(arg)
		if err != nil {
			fail(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Printf("status=%d\n%s", resp.StatusCode, body)
	case "lookup":
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupHost(ctx, arg)
		if err != nil {
			fail(err)
		}
		fmt.Println(strings.Join(addrs, "\n"))
	case "rcode":
		conf, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil || len(conf.Servers) == 0 {
			fail(fmt.Sprintf("no name server in /etc/resolv.conf: %v", err))
		}
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(arg), dns.TypeA)
		in, _, err := new(dns.Client).Exchange(m, net.JoinHostPort(conf.Servers[0], conf.Port))
		if err != nil {
			fail(err)
		}
		fmt.Printf("rcode=%s answers=%d\n", dns.RcodeToString[in.Rcode], len(in.Answer))
	case "mtu":
		var mtu uint32
		if _, err := fmt.Sscan(arg, &mtu); err != nil {
			fail(err)
		}
		ifr, err := unix.NewIfreq("lo")
		if err != nil {
			fail(err)
		}
		ifr.SetUint32(mtu)
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
		if err != nil {
			fail(err)
		}
		if err := unix.IoctlIfreq(fd, unix.SIOCSIFMTU, ifr); err != nil {
			fail(fmt.Sprintf("setting the loopback MTU: %v", err))
		}
		fmt.Printf("mtu=%d\n", mtu)
	default:
		fail("unknown command " + os.Args[1])
	}
}

func fail(v any) {
	fmt.Fprintln(os.Stderr, "probe:", v)
	os.Exit(1)
}
