// Package crds installs the Gateway API CRDs of the version this module
// requires (sigs.k8s.io/gateway-api in go.mod), from the Go module cache, and
// waits until the API server serves them.
package crds

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Channels of the Gateway API release.
const (
	Standard     = "standard"
	Experimental = "experimental"
)

// Dir returns the CRD folder of a channel in the module cache.
func Dir(channel string) (string, error) {
	if channel != Standard && channel != Experimental {
		return "", fmt.Errorf("unknown Gateway API channel %q: use %s or %s", channel, Standard, Experimental)
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		return "", fmt.Errorf("locating sigs.k8s.io/gateway-api in the module cache (run from the gamma-conformance source tree, with Go installed): %w", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "config", "crd", channel), nil
}

// Install applies every object of the channel's folder (the CRDs, and for
// the experimental channel a ValidatingAdmissionPolicy) with server-side
// apply, and waits until every CRD is Established.
func Install(ctx context.Context, cfg *rest.Config, channel string) (int, error) {
	dir, err := Dir(channel)
	if err != nil {
		return 0, err
	}
	s := clientScheme()
	cl, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		return 0, err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return 0, err
	}
	slices.Sort(files)
	var crdNames []string
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		objs, err := decode(f)
		if err != nil {
			return 0, err
		}
		for _, u := range objs {
			if err := cl.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.ForceOwnership, client.FieldOwner("gammaconf")); err != nil {
				return 0, fmt.Errorf("applying %s %s from %s: %w", u.GetKind(), u.GetName(), f, err)
			}
			if u.GetKind() == "CustomResourceDefinition" {
				crdNames = append(crdNames, u.GetName())
			}
		}
	}
	deadline := time.Now().Add(time.Minute)
	for _, name := range crdNames {
		for {
			var crd apiextensionsv1.CustomResourceDefinition
			err := cl.Get(ctx, client.ObjectKey{Name: name}, &crd)
			if err == nil && established(&crd) {
				break
			}
			if time.Now().After(deadline) {
				return 0, fmt.Errorf("CRD %s not established after a minute: %v", name, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return len(crdNames), nil
}

func established(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}

func decode(path string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}
