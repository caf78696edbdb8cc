package ginkgo

import (
	"os"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"
	"k8s.io/client-go/tools/clientcmd"

	"gamma-conformance/suites/semantics"
)

// cfg is filled in by the BeforeSuite, once the cluster is known.
var cfg semantics.Config

var _ = semantics.GinkgoTest(&cfg)

var _ = BeforeSuite(func() {
	rc, err := clientcmd.BuildConfigFromFlags("", os.Getenv("GAMMA_KUBECONFIG"))
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	cfg.RESTConfig = rc
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
	suiteConfig.LabelFilter = "control && SemanticsPassThrough && !SemanticsParentRefPort"
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
