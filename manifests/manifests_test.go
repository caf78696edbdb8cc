package manifests

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// TestInstallNames checks that the manifests create the objects the
// install-name constants name, so that the constants and the YAML cannot
// drift apart.
func TestInstallNames(t *testing.T) {
	byKind := map[string][]*unstructured.Unstructured{}
	files, err := fs.Glob(FS, "*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests embedded: %v", err)
	}
	for _, f := range files {
		data, err := FS.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if len(u.Object) > 0 {
				byKind[u.GetKind()] = append(byKind[u.GetKind()], u)
			}
		}
	}
	one := func(kind, namespace, name string) *unstructured.Unstructured {
		t.Helper()
		for _, u := range byKind[kind] {
			if u.GetNamespace() == namespace && u.GetName() == name {
				return u
			}
		}
		t.Fatalf("the manifests have no %s %s/%s", kind, namespace, name)
		return nil
	}
	one("Namespace", "", Namespace)
	one("Deployment", Namespace, Controller)
	one("Service", Namespace, Controller)
	one("ServiceAccount", Namespace, Controller)
	hook := one("MutatingWebhookConfiguration", "", WebhookConfig)
	hooks, _, _ := unstructured.NestedSlice(hook.Object, "webhooks")
	if len(hooks) != 1 {
		t.Fatalf("%s has %d webhooks, want 1", WebhookConfig, len(hooks))
	}
	w := hooks[0].(map[string]any)
	if v, _, _ := unstructured.NestedString(w, "namespaceSelector", "matchLabels", InjectLabelKey); v != InjectLabelValue {
		t.Errorf("%s selects namespaces by %s=%q, want %s", WebhookConfig, InjectLabelKey, v, InjectLabel)
	}
	if v, _, _ := unstructured.NestedString(w, "clientConfig", "service", "namespace"); v != Namespace {
		t.Errorf("%s calls a Service in namespace %q, want %s", WebhookConfig, v, Namespace)
	}
	if v, _, _ := unstructured.NestedString(w, "clientConfig", "service", "name"); v != Controller {
		t.Errorf("%s calls the Service %q, want %s", WebhookConfig, v, Controller)
	}
}
