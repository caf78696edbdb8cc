// Package hostsnap records the host state a cluster could leave behind
// (processes, mounts, network links and namespaces, iptables rules, sysctls,
// well-known directories) and lists the differences between two records.
package hostsnap

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Snapshot is one record of the host state.
type Snapshot struct {
	Processes []string          `json:"processes"` // cluster-related processes, as "name" (one per process)
	Mounts    []string          `json:"mounts"`
	Links     []string          `json:"links"`
	Netns     []string          `json:"netns"`
	Iptables  map[string]string `json:"iptables"` // "iptables/filter" -> rules without counters
	Sysctls   map[string]string `json:"sysctls"`
	Paths     map[string]bool   `json:"paths"` // path -> exists
}

// clusterProcesses are the executables a cluster runs on the host.
var clusterProcesses = map[string]bool{
	"containerd": true, "containerd-shim-runc-v2": true, "containerd-shim": true, "runc": true, "etcd": true,
	"kube-apiserver": true, "kube-controller-manager": true, "kube-scheduler": true, "kubelet": true,
	"kube-proxy": true, "coredns": true, "pause": true, "dockerd": true, "kindnetd": true,
}

// Take records the host state; sysctls and paths are the ones to watch.
func Take(sysctls, paths []string) Snapshot {
	s := Snapshot{Iptables: map[string]string{}, Sysctls: map[string]string{}, Paths: map[string]bool{}}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		exe, err := os.Readlink(p + "/exe")
		if err != nil {
			continue
		}
		name := filepath.Base(strings.TrimSuffix(exe, " (deleted)"))
		cg, _ := os.ReadFile(p + "/cgroup")
		if clusterProcesses[name] || strings.Contains(string(cg), "/kubepods") {
			s.Processes = append(s.Processes, name)
		}
	}
	if f, err := os.Open("/proc/self/mountinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if fl := strings.Fields(sc.Text()); len(fl) > 4 {
				s.Mounts = append(s.Mounts, fl[4])
			}
		}
		f.Close()
	}
	links, _ := os.ReadDir("/sys/class/net")
	for _, l := range links {
		s.Links = append(s.Links, l.Name())
	}
	ns, _ := os.ReadDir("/run/netns")
	for _, n := range ns {
		s.Netns = append(s.Netns, n.Name())
	}
	counters := regexp.MustCompile(`\[\d+:\d+\]`)
	for _, fam := range []string{"iptables", "ip6tables"} {
		for _, table := range []string{"filter", "nat", "mangle", "raw"} {
			out, err := exec.Command(fam+"-save", "-t", table).Output()
			if err != nil {
				continue
			}
			var lines []string
			empty := true // only built-in chains, policy ACCEPT, no rule: same as no table
			for _, l := range strings.Split(string(out), "\n") {
				if l == "" || strings.HasPrefix(l, "#") {
					continue
				}
				if f := strings.Fields(l); strings.HasPrefix(l, "-A ") || (strings.HasPrefix(l, ":") && len(f) > 1 && f[1] != "ACCEPT") {
					empty = false
				}
				lines = append(lines, counters.ReplaceAllString(l, "[0:0]"))
			}
			if !empty {
				s.Iptables[fam+"/"+table] = strings.Join(lines, "\n")
			}
		}
	}
	for _, k := range sysctls {
		if v, err := os.ReadFile(filepath.Join("/proc/sys", strings.ReplaceAll(k, ".", "/"))); err == nil {
			s.Sysctls[k] = strings.TrimSpace(string(v))
		}
	}
	for _, p := range paths {
		_, err := os.Stat(p)
		s.Paths[p] = err == nil
	}
	for _, l := range [][]string{s.Processes, s.Mounts, s.Links, s.Netns} {
		sort.Strings(l)
	}
	return s
}

// Diff lists, one line each, what differs between before and after.
func Diff(before, after Snapshot) []string {
	var d []string
	d = append(d, diffList("process", before.Processes, after.Processes)...)
	d = append(d, diffList("mount", before.Mounts, after.Mounts)...)
	d = append(d, diffList("link", before.Links, after.Links)...)
	d = append(d, diffList("netns", before.Netns, after.Netns)...)
	d = append(d, diffMap("iptables", before.Iptables, after.Iptables)...)
	d = append(d, diffMap("sysctl", before.Sysctls, after.Sysctls)...)
	for p, was := range before.Paths {
		if now, ok := after.Paths[p]; ok && now != was {
			d = append(d, fmt.Sprintf("path %s: existed before: %v, exists after: %v", p, was, now))
		}
	}
	sort.Strings(d)
	return d
}

// diffList compares two multisets.
func diffList(kind string, before, after []string) []string {
	count := map[string]int{}
	for _, b := range before {
		count[b]--
	}
	for _, a := range after {
		count[a]++
	}
	var d []string
	for k, n := range count {
		switch {
		case n > 0:
			d = append(d, fmt.Sprintf("%s %s: %d more after", kind, k, n))
		case n < 0:
			d = append(d, fmt.Sprintf("%s %s: %d fewer after", kind, k, -n))
		}
	}
	return d
}

func diffMap(kind string, before, after map[string]string) []string {
	var d []string
	for k, b := range before {
		a, ok := after[k]
		if !ok {
			d = append(d, fmt.Sprintf("%s %s: gone after", kind, k))
			continue
		}
		if a == b {
			continue
		}
		if kind != "iptables" {
			d = append(d, fmt.Sprintf("%s %s: %q before, %q after", kind, k, b, a))
			continue
		}
		bl, al := strings.Split(b, "\n"), strings.Split(a, "\n")
		for _, l := range diffList("", bl, al) {
			d = append(d, fmt.Sprintf("%s %s:%s", kind, k, l))
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			d = append(d, fmt.Sprintf("%s %s: new after", kind, k))
		}
	}
	return d
}
