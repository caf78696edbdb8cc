package proxy

import "gamma-conformance/referenceimpl/proxy/internal/intercept"

// Intercept installs, in the current network namespace, nftables rules that
// redirect every outbound TCP connection to proxyPort on loopback, except
// connections made by proxyUID (the proxy's own) and those to loopback
// addresses. It replaces earlier rules atomically. It is the init
// container's job and needs CAP_NET_ADMIN.
func Intercept(proxyPort uint16, proxyUID uint32) error {
	return intercept.Install(proxyPort, proxyUID)
}

// RemoveInterception deletes the rules Intercept installed.
func RemoveInterception() error { return intercept.Remove() }
