// Package ginkgo shows the semantics suite declared inside a caller's own
// Ginkgo suite (semantics.GinkgoTest), for vendors whose harness already
// runs Ginkgo: see suite_test.go.
package ginkgo
