package suites

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gamma-conformance/profiles"
	"gamma-conformance/reportgen/results"
	"gamma-conformance/suites/internal/config"
)

// writeResults writes the results file of whatever ran. It writes nothing
// when neither suite ran (e.g. -test.run selected no suite).
func writeResults() (*results.Results, error) {
	semanticsMu.Lock()
	sem := semanticsReport
	semanticsMu.Unlock()
	upstream.mu.Lock()
	ran := upstream.ran
	upstream.mu.Unlock()
	if !ran && sem == nil {
		return nil, nil
	}
	if ran {
		upstream.finish()
	}
	upstream.mu.Lock()
	defer upstream.mu.Unlock()

	f := config.Current
	r := &results.Results{
		SchemaVersion: results.SchemaVersion,
		SuiteVersion:  f.SuiteVersion,
		Implementation: results.Implementation{
			Organization: flagLookupValue("organization"),
			Project:      flagLookupValue("project"),
			URL:          flagLookupValue("url"),
			Version:      flagLookupValue("version"),
		},
		Run: results.Run{
			Start:          runStart,
			End:            time.Now(),
			Mode:           flagLookupValue("mode"),
			ControllerName: f.ControllerName,
			Command:        os.Args[0],
			Args:           os.Args[1:],
		},
	}
	if c := flagLookupValue("contact"); c != "" {
		r.Implementation.Contact = strings.Split(c, ",")
	}
	if ran {
		r.Profiles = append(r.Profiles, upstream.profiles...)
		r.Tests = append(r.Tests, upstream.tests...)
		for _, p := range upstream.opts.ConformanceProfiles {
			r.Run.ConformanceProfiles = append(r.Run.ConformanceProfiles, string(p))
		}
		r.Run.SupportedFeatures = sortedNames(upstream.supported)
		for _, e := range upstream.opts.ExemptFeatures {
			r.Run.ExemptFeatures = append(r.Run.ExemptFeatures, string(e))
		}
		r.Run.Mode = upstream.opts.Mode
		if upstream.report != nil {
			r.GatewayAPI = results.GatewayAPI{Version: upstream.report.GatewayAPIVersion, Channel: upstream.report.GatewayAPIChannel}
			if rel, err := filepath.Rel(filepath.Dir(f.ResultsOutput), upstream.reportPath); err == nil {
				r.UpstreamReport = rel
			} else {
				r.UpstreamReport = upstream.reportPath
			}
		}
	}
	if sem != nil {
		r.Profiles = append(r.Profiles, semanticsProfiles()...)
		r.Tests = append(r.Tests, semanticsTests(sem)...)
		for _, p := range profiles.All() {
			r.Run.ConformanceProfiles = append(r.Run.ConformanceProfiles, p.Name)
		}
		for f, ok := range supportedSemantics() {
			if ok {
				r.Run.SupportedFeatures = append(r.Run.SupportedFeatures, f)
			}
		}
	}
	sort.Strings(r.Run.SupportedFeatures)
	if r.GatewayAPI.Version == "" {
		r.GatewayAPI = installedGatewayAPI()
	}
	if err := results.Write(f.ResultsOutput, r); err != nil {
		return nil, fmt.Errorf("write %s: %w", f.ResultsOutput, err)
	}
	up, se := r.Count(results.Upstream), r.Count(results.Semantics)
	progress("results written to %s: upstream %d passed %d failed %d skipped %d not-supported; semantics %d passed %d failed %d skipped %d not-supported",
		f.ResultsOutput, up.Passed, up.Failed, up.Skipped, up.NotSupported, se.Passed, se.Failed, se.Skipped, se.NotSupported)
	return r, nil
}

// installedGatewayAPI reads the bundle version and channel of the installed
// HTTPRoute CRD, for runs without the upstream part.
func installedGatewayAPI() results.GatewayAPI {
	unknown := results.GatewayAPI{Version: "UNDEFINED", Channel: "UNDEFINED"}
	c, err := semanticsCluster()
	if err != nil {
		return unknown
	}
	crd := &unstructured.Unstructured{}
	crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Client.Get(ctx, client.ObjectKey{Name: "httproutes.gateway.networking.k8s.io"}, crd); err != nil {
		return unknown
	}
	a := crd.GetAnnotations()
	return results.GatewayAPI{Version: a["gateway.networking.k8s.io/bundle-version"], Channel: a["gateway.networking.k8s.io/channel"]}
}
