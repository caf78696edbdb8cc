package ginkgo

import (
	"os"
	"testing"

	"gamma-conformance/harness/providers"
	"gamma-conformance/profiles"
	"gamma-conformance/suites/semantics"
	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"
)

// cfg is filled in by the BeforeSuite, once the cluster is known.
var cfg semantics.Config

var _ = semantics.GinkgoTest(&cfg)

var _ = BeforeSuite(func() {
	c, err := providers.Open(os.Getenv("GAMMA_KUBECONFIG"))
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	rc, err := c.RESTConfig()
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	cfg.RESTConfig = rc
	// The no-route pass-through controls are an extended feature: claim it.
	cfg.SupportedFeatures = []string{profiles.NoRoutePassThrough}
})

// TestVendorSuite runs the pass-through controls of the semantics suite in
// this package's own Ginkgo suite, against the cluster `make test` brought
// up (it has no mesh: the controls pass there, the other specs would not).
func TestVendorSuite(t *testing.T) {
	if os.Getenv("GAMMA_KUBECONFIG") == "" {
		t.Skip("GAMMA_KUBECONFIG is not set: run through `make test`, which brings a cluster up")
	}
	gomega.RegisterFailHandler(Fail)
	suiteConfig, reporterConfig := GinkgoConfiguration()
	suiteConfig.LabelFilter = "control && " + profiles.NoRoutePassThrough
	suiteConfig.FocusStrings = []string{"with no routes"}
	n := 0
	for _, sr := range PreviewSpecs("vendor suite", suiteConfig).SpecReports {
		if sr.LeafNodeType == types.NodeTypeIt && sr.State == types.SpecStatePassed {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d specs selected, want the 2 pass-through controls with no routes", n)
	}
	RunSpecs(t, "vendor suite", suiteConfig, reporterConfig)
}
