package semantics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/onsi/ginkgo/v2/types"
	"k8s.io/client-go/rest"

	"gamma-conformance/gatewayapi"
	"gamma-conformance/profiles"
)

// DefaultEchoImage is the image of the upstream v1.6.3 mesh fixture (Istio's
// echo server and its exec-based client). The harness builds and preloads
// it beside v1.7.0's (the same binaries); it is never pulled.
const DefaultEchoImage = gatewayapi.EchoImageV163

// Config is everything a run of the semantics suite needs. The zero value of
// every field but RESTConfig is usable: Defaults fills them in.
type Config struct {
	// RESTConfig reaches the cluster under test (required).
	RESTConfig *rest.Config

	// ControllerName selects whose route status entries count; empty: any.
	ControllerName string
	// PolicyControllerName selects whose policy ancestor entries count;
	// empty: any. A mesh may write policy status under another name than
	// route status.
	PolicyControllerName string
	// NamespaceLabels and NamespaceAnnotations go on every namespace a spec
	// creates (this is how a mesh is told to inject its proxies).
	NamespaceLabels      map[string]string
	NamespaceAnnotations map[string]string
	// EchoImage is the echo server and client image; it must be present on
	// the nodes (default DefaultEchoImage).
	EchoImage string
	// ConvergenceTimeout bounds how long a spec waits for status and
	// traffic (default 30s); ReadyTimeout how long the run waits for the
	// pods its specs share, and a spec for its Services' endpoints
	// (default 5m).
	ConvergenceTimeout time.Duration
	ReadyTimeout       time.Duration

	// DumpOnFailure writes routes with status, pod logs, events and proxy
	// config dumps of a failed spec into DumpDir.
	DumpOnFailure bool
	DumpDir       string
	// KeepOnFailure keeps a failed spec's objects and the namespaces
	// they are in.
	KeepOnFailure bool
	// Parallel is how many specs run at once (0 or 1: one after another,
	// so each spec sees a quiet mesh). The negative control runs several at
	// once: with no mesh, each spec only waits out its convergence timeout.
	Parallel int

	// Selection, with Ginkgo's meanings: LabelFilter is a Ginkgo label
	// filter query over the spec labels (feature names and "control");
	// a spec runs if its full text matches some Focus (or Focus is empty)
	// and no Skip. Specs not selected are left out of the results.
	LabelFilter string
	Focus       []string
	Skip        []string

	// Feature gating, as the upstream suite gates: core features always
	// run; an extended feature runs only when claimed. SupportedFeatures
	// claims by name (semantics names, and upstream names, which claim the
	// semantics features they imply in the installed Gateway API version:
	// profiles.Claimed); without names, MeshName reads the claims from that
	// XMesh's status.supportedFeatures; AllFeatures claims every feature.
	// ExemptFeatures are never run. A spec of a feature not claimed is
	// "not supported", never failed.
	SupportedFeatures []string
	ExemptFeatures    []string
	AllFeatures       bool
	MeshName          string
	// GatewayAPIVersion picks the upstream feature names' mapping
	// (default: the bundle version of the installed CRDs).
	GatewayAPIVersion string

	// Context ends the run early (an interrupt): the running spec stops
	// and cleans up, the rest are skipped. Default: the test's context.
	Context context.Context
	// Log receives one progress line per spec (default os.Stderr).
	Log io.Writer
	// Rerun, if set, gives the command line that reruns one spec (by its
	// full text); it goes into the results.
	Rerun func(fullText string) string
}

// Defaults returns cfg with every unset optional field filled in.
func (cfg Config) Defaults() Config {
	if cfg.EchoImage == "" {
		cfg.EchoImage = DefaultEchoImage
	}
	if cfg.ConvergenceTimeout == 0 {
		cfg.ConvergenceTimeout = 30 * time.Second
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 5 * time.Minute
	}
	if cfg.DumpDir == "" {
		cfg.DumpDir = filepath.Join("out", "suites", "dumps")
	}
	if cfg.Log == nil {
		cfg.Log = os.Stderr
	}
	return cfg
}

// Validate checks the configuration; its errors name the field and the fix.
func (cfg Config) Validate() error {
	var errs []error
	if cfg.RESTConfig == nil {
		errs = append(errs, errors.New("semantics: Config.RESTConfig is nil: pass the cluster's client config (e.g. from clientcmd.BuildConfigFromFlags)"))
	}
	if cfg.ConvergenceTimeout < 0 {
		errs = append(errs, fmt.Errorf("convergence timeout %v: must be positive, e.g. 30s", cfg.ConvergenceTimeout))
	}
	if cfg.ReadyTimeout < 0 {
		errs = append(errs, fmt.Errorf("ready timeout %v: must be positive, e.g. 3m", cfg.ReadyTimeout))
	}
	if cfg.Parallel < 0 {
		errs = append(errs, fmt.Errorf("parallel %d: must be 1 or more (0 means 1)", cfg.Parallel))
	}
	if cfg.LabelFilter != "" {
		if _, err := types.ParseLabelFilter(cfg.LabelFilter); err != nil {
			errs = append(errs, fmt.Errorf("label filter %q: %v", cfg.LabelFilter, err))
		}
	}
	for _, re := range append(append([]string{}, cfg.Focus...), cfg.Skip...) {
		if _, err := regexp.Compile(re); err != nil {
			errs = append(errs, fmt.Errorf("focus/skip %q is not a regular expression: %v", re, err))
		}
	}
	errs = append(errs, profiles.CheckFeatureNames("supported features", cfg.SupportedFeatures))
	errs = append(errs, profiles.CheckFeatureNames("exempt features", cfg.ExemptFeatures))
	return errors.Join(errs...)
}
