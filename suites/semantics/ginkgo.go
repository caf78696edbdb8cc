package semantics

import (
	"context"
	"sync"

	"github.com/onsi/ginkgo/v2"
)

// GinkgoTest declares every spec of the suite in the caller's own Ginkgo
// suite (one Describe named SuiteName, each spec an It labelled with its
// features), for callers that run their own RunSpecs. cfg is read when the
// first spec runs, so it may be filled in by a BeforeSuite (e.g. once an
// e2e-framework environment has made the cluster). Selection is Ginkgo's
// (--ginkgo.focus, --ginkgo.label-filter); cfg's Focus, Skip and
// LabelFilter are not used. Fixtures are made per spec, not ahead: each
// spec gets namespaces of its own with just the pods it declares.
//
//	var cfg semantics.Config
//	var _ = semantics.GinkgoTest(&cfg)
func GinkgoTest(cfg *Config) bool {
	var once sync.Once
	var r *runner
	var err error
	get := func() (*runner, error) {
		once.Do(func() { r, err = newRunner(*cfg) })
		return r, err
	}
	return ginkgo.Describe(SuiteName, func() {
		for _, sp := range registry {
			ginkgo.It(sp.FullText(), ginkgo.Label(sp.Labels...), func(ctx ginkgo.SpecContext) {
				r, err := get()
				if err != nil {
					ginkgo.Fail(err.Error())
				}
				if why := r.notRunnable(sp); why != "" {
					ginkgo.Skip(why)
				}
				s := r.newS(ctx, sp)
				s.h = ginkgoHost{}
				r.runSpec(s)
			})
		}
	})
}

// ginkgoHost runs a spec under Ginkgo.
type ginkgoHost struct{}

func (ginkgoHost) fail(msg string) { ginkgo.Fail(msg, 2) }
func (ginkgoHost) skip(msg string) { ginkgo.Skip(msg, 2) }
func (ginkgoHost) cleanup(f func(ctx context.Context)) {
	ginkgo.DeferCleanup(func(ctx ginkgo.SpecContext) { f(ctx) })
}
func (ginkgoHost) logf(format string, args ...any) { ginkgo.GinkgoWriter.Printf(format+"\n", args...) }
func (ginkgoHost) failed() bool                    { return ginkgo.CurrentSpecReport().Failed() }
