package hostsnap

import (
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	before := Snapshot{
		Processes: []string{"containerd"},
		Links:     []string{"eth0", "lo"},
		Iptables:  map[string]string{"iptables/filter": "*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT"},
		Sysctls:   map[string]string{"net.ipv4.ip_forward": "0"},
		Paths:     map[string]bool{"/var/lib/cni": false},
	}
	if d := Diff(before, before); len(d) != 0 {
		t.Fatalf("identical snapshots differ: %v", d)
	}
	after := Snapshot{
		Processes: []string{"containerd", "kubelet"},
		Links:     []string{"eth0", "gamma0", "lo"},
		Iptables:  map[string]string{"iptables/filter": "*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -j KUBE-FORWARD\nCOMMIT", "iptables/nat": "*nat"},
		Sysctls:   map[string]string{"net.ipv4.ip_forward": "1"},
		Paths:     map[string]bool{"/var/lib/cni": true},
	}
	got := strings.Join(Diff(before, after), "\n")
	for _, want := range []string{"process kubelet: 1 more after", "link gamma0: 1 more after", "-A FORWARD -j KUBE-FORWARD",
		"iptables iptables/nat: new after", `sysctl net.ipv4.ip_forward: "0" before, "1" after`, "path /var/lib/cni"} {
		if !strings.Contains(got, want) {
			t.Errorf("diff lacks %q:\n%s", want, got)
		}
	}
}
