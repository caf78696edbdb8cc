// Package crds installs the Gateway API CRDs of a release the harness runs
// (package gatewayapi: v1.7.0 or v1.6.3), from the Go module cache of the
// module of this repository that requires that release (the root module for
// v1.6.3, the nested suites/upstream17 for v1.7.0), and waits until the API
// server serves them.
package crds

import (
	"bytes"
	"context"
	"encoding/json"
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

	"gamma-conformance/gatewayapi"
)

// Channels of the Gateway API release.
const (
	Standard     = "standard"
	Experimental = "experimental"
)

// bundleVersion is the annotation every Gateway API CRD carries.
const bundleVersion = "gateway.networking.k8s.io/bundle-version"

// Dir returns the CRD folder of a release's channel in the module cache.
// It asks the go command, in the module of this repository that requires
// the release and with the toolchain that module needs (Go 1.27.3 for
// v1.7.0: fetched from the module proxy the first time), so it must run
// inside the gamma-conformance source tree.
func Dir(version, channel string) (string, error) {
	rel, err := gatewayapi.Lookup(version)
	if err != nil {
		return "", err
	}
	if channel != Standard && channel != Experimental {
		return "", fmt.Errorf("unknown Gateway API channel %q: use %s or %s", channel, Standard, Experimental)
	}
	root, err := goCommand(".", "local", "list", "-m", "-f", "{{.Dir}}", "gamma-conformance")
	if err != nil {
		return "", fmt.Errorf("locating the gamma-conformance source tree (run from it, with Go installed): %w", err)
	}
	out, err := goCommand(filepath.Join(strings.TrimSpace(string(root)), rel.ModuleDir), rel.Toolchain, "mod", "download", "-json", "sigs.k8s.io/gateway-api")
	if err != nil {
		return "", fmt.Errorf("locating sigs.k8s.io/gateway-api %s in the module cache of %s (GOTOOLCHAIN=%s): %w", rel.Version, rel.ModuleDir, rel.Toolchain, err)
	}
	var mod struct{ Version, Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Error != "" || mod.Dir == "" {
		return "", fmt.Errorf("locating sigs.k8s.io/gateway-api %s in the module cache of %s: %v %s", rel.Version, rel.ModuleDir, err, mod.Error)
	}
	if mod.Version != rel.Version {
		return "", fmt.Errorf("the module %s requires sigs.k8s.io/gateway-api %s, not %s (fix: restore its go.mod)", rel.ModuleDir, mod.Version, rel.Version)
	}
	return filepath.Join(mod.Dir, "config", "crd", channel), nil
}

// goCommand runs the go command in dir with GOTOOLCHAIN=toolchain and
// returns its standard output; an error carries its standard error.
func goCommand(dir, toolchain string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN="+toolchain)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s (in %s): %w: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Install applies the CRDs of v1.6.3, the release the root module requires:
// InstallVersion(ctx, cfg, gatewayapi.V163, channel, false).
func Install(ctx context.Context, cfg *rest.Config, channel string) (int, error) {
	return InstallVersion(ctx, cfg, gatewayapi.V163, channel, false)
}

// InstallVersion applies every object of the release's channel folder (the
// CRDs, and for the experimental channel a ValidatingAdmissionPolicy) with
// server-side apply, and waits until every CRD is Established. The upstream
// suite refuses a cluster whose Gateway API CRDs are of mixed releases or
// channels, so Gateway API CRDs the folder does not have (another release's
// or channel's) are an error naming them, before anything is applied,
// unless prune: then they are deleted, with every object of theirs.
func InstallVersion(ctx context.Context, cfg *rest.Config, version, channel string, prune bool) (int, error) {
	dir, err := Dir(version, channel)
	if err != nil {
		return 0, err
	}
	cl, err := client.New(cfg, client.Options{Scheme: clientScheme()})
	if err != nil {
		return 0, err
	}
	objs, crdNames, err := decodeDir(dir)
	if err != nil {
		return 0, err
	}
	if err := removeOthers(ctx, cl, crdNames, version, channel, prune); err != nil {
		return 0, err
	}
	for _, u := range objs {
		if err := cl.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.ForceOwnership, client.FieldOwner("gammaconf")); err != nil {
			return 0, fmt.Errorf("applying %s %s from %s: %w", u.GetKind(), u.GetName(), dir, err)
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

// decodeDir decodes every object of a CRD folder, in file name order, and
// names its CRDs.
func decodeDir(dir string) (objs []*unstructured.Unstructured, crdNames []string, err error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, nil, err
	}
	slices.Sort(files)
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		got, err := decode(f)
		if err != nil {
			return nil, nil, err
		}
		for _, u := range got {
			if u.GetKind() == "CustomResourceDefinition" {
				crdNames = append(crdNames, u.GetName())
			}
		}
		objs = append(objs, got...)
	}
	return objs, crdNames, nil
}

// removeOthers finds the installed Gateway API CRDs (those with the
// bundle-version annotation) that are not in keep; it deletes them when
// prune, else fails naming them.
func removeOthers(ctx context.Context, cl client.Client, keep []string, version, channel string, prune bool) error {
	var list apiextensionsv1.CustomResourceDefinitionList
	if err := cl.List(ctx, &list); err != nil {
		return fmt.Errorf("listing the installed CRDs: %w", err)
	}
	var others []string
	for i := range list.Items {
		crd := &list.Items[i]
		if _, ok := crd.Annotations[bundleVersion]; !ok || slices.Contains(keep, crd.Name) {
			continue
		}
		if prune {
			if err := cl.Delete(ctx, crd); err != nil {
				return fmt.Errorf("deleting the CRD %s: %w", crd.Name, err)
			}
			continue
		}
		others = append(others, fmt.Sprintf("%s (%s %s)", crd.Name, crd.Annotations[bundleVersion], crd.Annotations["gateway.networking.k8s.io/channel"]))
	}
	if len(others) > 0 {
		return fmt.Errorf("the cluster has Gateway API CRDs that the %s channel of %s does not: %s; the upstream suite refuses mixed releases or channels "+
			"(fix: `gammaconf crds install --prune` deletes them and every object of theirs, or delete them yourself)", channel, version, strings.Join(others, ", "))
	}
	return nil
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
