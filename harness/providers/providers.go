// Package providers is the one place that chooses a cluster provider by
// name (local, kind, existing) and that opens the cluster of a kubeconfig
// with the provider that made it, so that images can be loaded into it.
// It sits above the provider packages, which import package harness.
package providers

import (
	"io"
	"path/filepath"
	"strings"

	"gamma-conformance/harness"
	"gamma-conformance/harness/existing"
	"gamma-conformance/harness/kind"
	"gamma-conformance/harness/local"
)

// Names are the valid provider names, in the order help texts list them.
var Names = []string{"local", "kind", "existing"}

// Options configure a provider; each provider reads the fields it uses.
type Options struct {
	// Dir is the state directory of local and kind; the kubeconfig is
	// <Dir>/kubeconfig. Empty: local.DefaultDir or kind.DefaultDir.
	Dir string
	// Name is the kind cluster's name (default "gamma").
	Name string
	// Kubeconfig and Context select the cluster of existing (Context ""
	// means the kubeconfig's current context).
	Kubeconfig, Context string
	// Cache is the artifact cache of local and kind; empty means
	// GAMMA_CACHE or its default.
	Cache string
	// Out receives progress lines of local and kind.
	Out io.Writer
	// Retain keeps the nodes of a failed kind create for debugging.
	Retain bool
	// VerifyClean makes local's Up record the host state and Down fail
	// when the host differs from that record after the teardown.
	VerifyClean bool
}

// New returns the provider called name. Every provider it returns is also
// an e2e-framework cluster provider (support.E2EClusterProviderWithImageLoader).
func New(name string, o Options) (harness.Provider, error) {
	switch name {
	case "local":
		return local.New(local.Options{Dir: o.Dir, Cache: o.Cache, Out: o.Out, VerifyClean: o.VerifyClean}), nil
	case "kind":
		return kind.New(kind.Options{Name: o.Name, Dir: o.Dir, Cache: o.Cache, Out: o.Out, Retain: o.Retain}), nil
	case "existing":
		return existing.New(o.Kubeconfig, o.Context), nil
	default:
		return nil, harness.Setupf("unknown provider %q: use --provider=local (this host, as root), kind or existing (with --kubeconfig); valid names: %s",
			name, strings.Join(Names, ", "))
	}
}

// Open returns the cluster whose kubeconfig is at path, read from the
// cluster record next to it, with the provider that made it as its Loader.
// Without a record the cluster is an existing one, which cannot load images.
func Open(kubeconfig string) (*harness.Cluster, error) {
	c, err := harness.ReadRecord(kubeconfig)
	if err != nil {
		return nil, err
	}
	p, err := New(c.Provider, Options{Dir: filepath.Dir(kubeconfig), Name: c.Name, Kubeconfig: kubeconfig, Context: c.Context})
	if err != nil {
		return nil, harness.Setupf("cluster record next to %s: %w", kubeconfig, err)
	}
	c.Loader = p
	return c, nil
}
