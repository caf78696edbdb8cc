package semantics

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	xv1alpha1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"

	"gamma-conformance/profiles"
	"gamma-conformance/reportgen/results"
)

// notSupportedPrefix starts the skip message of specs whose features the
// implementation does not claim.
const notSupportedPrefix = "not supported: "

// Feature gating follows the upstream suite: the core features of a
// profile always run; an extended feature runs only when the mesh claims
// it, by name (a semantics name, or upstream names that imply it in the
// installed Gateway API version: profiles.Claimed), on its XMesh's
// status.supportedFeatures (MeshName, when no names are given), or with
// AllFeatures. ExemptFeatures are removed from whatever was claimed.

// claims resolves what the run claims into the set of semantics features
// that run; installed is the cluster's Gateway API release, whose feature
// names apply unless cfg.GatewayAPIVersion says otherwise.
func claims(ctx context.Context, cfg Config, c client.Client, installed string) (map[string]bool, error) {
	var claimed []string
	switch {
	case cfg.AllFeatures:
		claimed = profiles.Features()
	default:
		names := cfg.SupportedFeatures
		if len(names) == 0 && cfg.MeshName != "" {
			var err error
			if names, err = xmeshFeatures(ctx, c, cfg.MeshName); err != nil {
				return nil, err
			}
		}
		var err error
		if claimed, err = profiles.Claimed(cmp.Or(cfg.GatewayAPIVersion, installed), names); err != nil && len(names) > 0 {
			return nil, fmt.Errorf("semantics: %w", err)
		}
	}
	return supportedFeatures(claimed, cfg.ExemptFeatures), nil
}

// supportedFeatures is every core feature and the claimed extended ones,
// minus the exempt ones.
func supportedFeatures(claimed, exempt []string) map[string]bool {
	out := map[string]bool{}
	for _, p := range profiles.All() {
		for _, f := range p.Core {
			out[f] = true
		}
		for _, f := range p.Extended {
			out[f] = slices.Contains(claimed, f)
		}
	}
	for _, f := range exempt {
		if profiles.IsFeature(f) {
			out[f] = false
		}
	}
	return out
}

// xmeshFeatures reads the features a mesh claims on its XMesh object.
func xmeshFeatures(ctx context.Context, c client.Client, name string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var m xv1alpha1.XMesh
	if err := c.Get(ctx, client.ObjectKey{Name: name}, &m); err != nil {
		return nil, fmt.Errorf("semantics: read the features of XMesh %q: %w (fix: pass the name of your mesh's XMesh, or name the features with --supported-features)", name, err)
	}
	var out []string
	for _, f := range m.Status.SupportedFeatures {
		out = append(out, string(f.Name))
	}
	return out, nil
}

// notRunnable says why a spec is not supported in this run: a feature the
// run does not claim, or CRDs older than the spec needs ("": it runs).
func (r *runner) notRunnable(sp Spec) string {
	if missing := unsupported(sp.Labels, r.supported); len(missing) > 0 {
		return notSupportedPrefix + strings.Join(missing, ", ") + " (the run does not claim it; see the supported and exempt features)"
	}
	return notInRelease(sp, r.gatewayAPI)
}

// unsupported lists the spec's features this run does not claim.
func unsupported(labels []string, supported map[string]bool) []string {
	var out []string
	for _, l := range labels {
		if l != results.ControlLabel && !supported[l] {
			out = append(out, l)
		}
	}
	return out
}

// resultProfiles describes the semantics profiles for the results file.
// An extended feature counts as supported only if the run claimed it and
// some spec of it ran and passed, with none failing (passed == nil: before
// any spec ran, the claims alone).
func resultProfiles(supported map[string]bool, passed map[string]bool) []results.Profile {
	var out []results.Profile
	for _, p := range profiles.All() {
		rp := results.Profile{Name: p.Name, Suite: results.Semantics, Core: p.Core, Extended: p.Extended}
		for _, f := range p.Extended {
			if supported[f] && (passed == nil || passed[f]) {
				rp.SupportedExtended = append(rp.SupportedExtended, f)
			} else {
				rp.UnsupportedExtended = append(rp.UnsupportedExtended, f)
			}
		}
		out = append(out, rp)
	}
	return out
}

// provenFeatures are the features of which some spec passed and none
// failed.
func provenFeatures(tests []results.Test) map[string]bool {
	out := map[string]bool{}
	failed := map[string]bool{}
	for _, t := range tests {
		for _, f := range t.Features {
			switch t.Outcome {
			case results.Passed:
				out[f] = true
			case results.Failed:
				failed[f] = true
			}
		}
	}
	for f := range failed {
		delete(out, f)
	}
	return out
}
