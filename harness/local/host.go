package local

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"gamma-conformance/harness"
)

// preflight checks that this host can run the local provider.
func preflight() error {
	if runtime.GOOS != "linux" {
		return harness.Setupf("the local provider runs only on Linux (this is %s): use --provider kind or --provider existing", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		return harness.Setupf("the local provider needs root (it runs containerd, kubelet and kube-proxy and changes iptables): run it as root, e.g. with sudo, or use --provider existing")
	}
	return nil
}

// ports are the TCP ports the cluster listens on, by component.
var ports = map[int]string{2379: "etcd", 2380: "etcd", apiPort: "kube-apiserver", 10250: "kubelet", 10248: "kubelet",
	10249: "kube-proxy", 10256: "kube-proxy", 10257: "kube-controller-manager", 10259: "kube-scheduler"}

// checkPorts fails when another program already listens on a port the
// cluster needs.
func checkPorts() error {
	var busy []string
	for port, who := range ports {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			busy = append(busy, fmt.Sprintf("%d (%s)", port, who))
			continue
		}
		l.Close()
	}
	if len(busy) > 0 {
		sort.Strings(busy)
		return fmt.Errorf("ports in use by another program: %s; stop that program (`ss -ltnp` names it) and run up again", strings.Join(busy, ", "))
	}
	return nil
}

// hostPackages are the Debian packages the local provider runs, by a
// command that each provides.
var hostPackages = map[string]string{
	"containerd":              "containerd",
	"ctr":                     "containerd",
	"runc":                    "runc",
	"/usr/lib/cni/bridge":     "containernetworking-plugins",
	"/usr/lib/cni/host-local": "containernetworking-plugins",
	"iptables":                "iptables",
	"iptables-save":           "iptables",
	"iptables-restore":        "iptables",
	"ip":                      "iproute2",
	"/usr/lib/cni/loopback":   "containernetworking-plugins",
	"containerd-shim-runc-v2": "containerd",
}

// missingPackages lists the packages whose commands are not installed.
func missingPackages() []string {
	set := map[string]bool{}
	for cmd, pkg := range hostPackages {
		if strings.HasPrefix(cmd, "/") {
			if _, err := os.Stat(cmd); err != nil {
				set[pkg] = true
			}
		} else if _, err := exec.LookPath(cmd); err != nil {
			set[pkg] = true
		}
	}
	var pkgs []string
	for p := range set {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	return pkgs
}

// installPackages installs the missing packages with apt-get.
func installPackages(pkgs []string) error {
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("missing packages %s and no apt-get to install them: install them with the system's package manager", strings.Join(pkgs, " "))
	}
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	for _, args := range [][]string{{"update"}, append([]string{"install", "-y", "--no-install-recommends"}, pkgs...)} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s: %w\n%s", strings.Join(args, " "), err, tailString(string(out), 15))
		}
	}
	return nil
}

func tailString(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// sysctls are the kernel settings that this provider, kubelet or
// kube-proxy may change; Up records them and Down restores them.
var sysctls = []string{
	"net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding", "net.ipv4.conf.all.route_localnet",
	"net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables",
	"vm.overcommit_memory", "vm.panic_on_oom", "kernel.panic", "kernel.panic_on_oops",
	"kernel.keys.root_maxkeys", "kernel.keys.root_maxbytes",
	"net.netfilter.nf_conntrack_max", "net.netfilter.nf_conntrack_tcp_timeout_established",
	"net.netfilter.nf_conntrack_tcp_timeout_close_wait", "net.netfilter.nf_conntrack_tcp_be_liberal",
}

func sysctlPath(key string) string {
	return filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/"))
}

// ReadSysctls returns the current value of every sysctl in keys that exists.
func readSysctls(keys []string) map[string]string {
	vals := map[string]string{}
	for _, k := range keys {
		if v, err := os.ReadFile(sysctlPath(k)); err == nil {
			vals[k] = strings.TrimSpace(string(v))
		}
	}
	return vals
}

func writeSysctl(key, value string) error {
	if err := os.WriteFile(sysctlPath(key), []byte(value), 0o644); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", key, value, err)
	}
	return nil
}

// restoreSysctls writes back the values saved in file.
func restoreSysctls(file string) error {
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	var saved map[string]string
	if err := json.Unmarshal(data, &saved); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	var errs []error
	now := readSysctls(sysctls)
	for k, v := range saved {
		if k == "net.ipv4.ip_forward" && dockerBridges() {
			continue // a Docker engine (kind) still forwards through this host
		}
		if now[k] != v {
			errs = append(errs, writeSysctl(k, v))
		}
	}
	return errors.Join(errs...)
}

// dockerBridges reports whether a Docker engine's bridge exists.
func dockerBridges() bool {
	links, _ := filepath.Glob("/sys/class/net/br-*")
	return linkExists("docker0") || len(links) > 0
}

// run runs a command and returns an error with its output.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func linkExists(name string) bool {
	_, err := os.Stat(filepath.Join("/sys/class/net", name))
	return err == nil
}

// uplinks are the interfaces that carry a default route: the way out of
// the machine, which the cluster must never use.
func uplinks() []string {
	set := map[string]bool{}
	for _, fam := range []string{"-4", "-6"} {
		out, _ := exec.Command("ip", fam, "route", "show", "default").Output()
		f := strings.Fields(string(out))
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "dev" {
				set[f[i+1]] = true
			}
		}
	}
	var l []string
	for k := range set {
		l = append(l, k)
	}
	sort.Strings(l)
	return l
}

// setupNetwork creates the node address, the route that keeps Service
// addresses on this host, and the filter rules.
func setupNetwork() error {
	steps := [][]string{
		{"ip", "link", "add", nodeBridge, "type", "bridge"},
		{"ip", "addr", "add", nodeIP + "/32", "dev", nodeBridge},
		{"ip", "link", "set", nodeBridge, "up"},
		// Service addresses are routed to the node bridge (it has no
		// ports), so unanswered ClusterIP traffic never reaches an uplink.
		{"ip", "route", "add", serviceCIDR, "dev", nodeBridge, "src", nodeIP},
		{"iptables", "-w", "-N", ownChain + "-FWD"},
		{"iptables", "-w", "-A", ownChain + "-FWD", "-i", cniBridge, "-o", cniBridge, "-j", "ACCEPT"},
		{"iptables", "-w", "-A", ownChain + "-FWD", "-i", cniBridge, "-j", "DROP"},
		{"iptables", "-w", "-A", ownChain + "-FWD", "-o", cniBridge, "-j", "ACCEPT"},
		{"iptables", "-w", "-I", "FORWARD", "1", "-j", ownChain + "-FWD"},
		{"iptables", "-w", "-N", ownChain + "-OUT"},
	}
	for _, up := range uplinks() {
		for _, m := range [][]string{{"-s", nodeIP + "/32"}, {"-s", podCIDR}, {"-d", podCIDR}, {"-d", serviceCIDR}} {
			steps = append(steps, append(append([]string{"iptables", "-w", "-A", ownChain + "-OUT"}, m...), "-o", up, "-j", "DROP"))
		}
	}
	steps = append(steps, []string{"iptables", "-w", "-I", "OUTPUT", "1", "-j", ownChain + "-OUT"})
	for _, s := range steps {
		if err := run(s[0], s[1:]...); err != nil {
			return err
		}
	}
	if err := writeSysctl("net.ipv4.ip_forward", "1"); err != nil {
		return err
	}
	if _, err := os.Stat(sysctlPath("net.bridge.bridge-nf-call-iptables")); err == nil {
		return writeSysctl("net.bridge.bridge-nf-call-iptables", "1")
	}
	return nil
}

// iptablesPrefixes are the chains this cluster creates: its own, kube-proxy's
// and kubelet's, and the CNI plugins'.
var iptablesPrefixes = []string{ownChain, "KUBE-", "CNI-"}

func ownedChain(c string) bool {
	for _, p := range iptablesPrefixes {
		if strings.HasPrefix(c, p) {
			return true
		}
	}
	return false
}

// cleanIptables deletes every rule that jumps to a chain of this cluster,
// then those chains, in every table of iptables and ip6tables, with one
// iptables-restore --noflush per table so that other rules are untouched.
func cleanIptables() error {
	var errs []error
	for _, fam := range []string{"iptables", "ip6tables"} {
		if _, err := exec.LookPath(fam + "-save"); err != nil {
			continue
		}
		for _, table := range []string{"filter", "nat", "mangle", "raw"} {
			out, err := exec.Command(fam+"-save", "-t", table).Output()
			if err != nil {
				continue // table not present
			}
			var dels, chains []string
			sc := bufio.NewScanner(strings.NewReader(string(out)))
			sc.Buffer(make([]byte, 1<<20), 1<<24)
			for sc.Scan() {
				line := sc.Text()
				if strings.HasPrefix(line, ":") {
					if c := strings.Fields(line[1:])[0]; ownedChain(c) {
						chains = append(chains, c)
					}
					continue
				}
				if !strings.HasPrefix(line, "-A ") {
					continue
				}
				f := strings.Fields(line)
				if ownedChain(f[1]) {
					continue // flushed with its chain
				}
				for i := 2; i+1 < len(f); i++ {
					if (f[i] == "-j" || f[i] == "-g") && ownedChain(f[i+1]) {
						dels = append(dels, "-D"+line[2:])
						break
					}
				}
			}
			if len(dels)+len(chains) == 0 {
				continue
			}
			var in strings.Builder
			fmt.Fprintf(&in, "*%s\n", table)
			for _, d := range dels {
				fmt.Fprintln(&in, d)
			}
			for _, c := range chains {
				fmt.Fprintf(&in, "-F %s\n", c)
			}
			for _, c := range chains {
				fmt.Fprintf(&in, "-X %s\n", c)
			}
			fmt.Fprintln(&in, "COMMIT")
			cmd := exec.Command(fam+"-restore", "-w", "--noflush")
			cmd.Stdin = strings.NewReader(in.String())
			if out, err := cmd.CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("%s-restore (table %s): %w: %s", fam, table, err, out))
			}
		}
	}
	return errors.Join(errs...)
}

// mountsUnder returns the mount points under any of dirs, deepest first.
func mountsUnder(dirs ...string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var mps []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		for _, d := range dirs {
			if mp == d || strings.HasPrefix(mp, d+"/") {
				mps = append(mps, mp)
				break
			}
		}
	}
	sort.Slice(mps, func(i, j int) bool { return len(mps[i]) > len(mps[j]) })
	return mps
}

func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// unmountAll detaches every mount under dirs.
func unmountAll(dirs ...string) error {
	var errs []error
	for i := 0; i < 3; i++ { // stacked mounts need more than one pass
		mps := mountsUnder(dirs...)
		if len(mps) == 0 {
			return nil
		}
		errs = nil
		for _, mp := range mps {
			if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
				errs = append(errs, fmt.Errorf("unmount %s: %w", mp, err))
			}
		}
	}
	return errors.Join(errs...)
}

// removeCgroups removes the kubelet's pod cgroups (cgroupfs driver) in every
// hierarchy, deepest first; they are empty once the pods are gone.
func removeCgroups() error {
	var dirs []string
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods")
	if _, err := os.Stat("/sys/fs/cgroup/kubepods"); err == nil {
		roots = append(roots, "/sys/fs/cgroup/kubepods")
	}
	for _, r := range roots {
		_ = filepath.WalkDir(r, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
	}
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	var errs []error
	for _, d := range dirs {
		if err := unix.Rmdir(d); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("rmdir %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

// hostPaths are directories that kubelet, containerd or the CNI plugins may
// create outside the state directory; Up records which exist and Down removes
// the ones it created.
var hostPaths = []string{"/var/log/containers", "/var/log/pods", "/var/lib/cni", "/run/containerd",
	"/run/netns", "/var/lib/kubelet", "/etc/kubernetes", "/opt/containerd", "/etc/cni"}
