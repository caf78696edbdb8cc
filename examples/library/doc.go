// Package library shows the semantics suite used as a library from a
// vendor's own Go tests, outside the suites tree: see twice_test.go, which
// runs it twice in one process with two configurations.
package library
