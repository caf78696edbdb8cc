// Package clusterdns holds the CoreDNS configuration of every cluster the
// harness makes: cluster names are answered, every other name gets NXDOMAIN.
// There is no upstream (no `forward`), so no query ever leaves the machine.
package clusterdns

// Corefile serves cluster.local and the reverse zones from the Kubernetes
// API (health on :8080, readiness on :8181, as kubeadm's probes expect) and
// answers NXDOMAIN for everything else.
const Corefile = `cluster.local:53 in-addr.arpa:53 ip6.arpa:53 {
    errors
    health :8080
    ready :8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
    }
    cache 30
    loadbalance
}
.:53 {
    errors
    template ANY ANY {
        rcode NXDOMAIN
    }
}
`
