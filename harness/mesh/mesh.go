// Package mesh installs and removes the reference mesh on a cluster: it
// builds the controller and proxy binaries from this module, packs them into
// images, loads them into the cluster (nothing is pulled), applies the
// manifests of package manifests and waits until the mesh can inject
// sidecars and serve config.
package mesh

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gamma-conformance/harness"
	"gamma-conformance/harness/images"
	"gamma-conformance/harness/internal/progress"
	"gamma-conformance/manifests"
	"gamma-conformance/referenceimpl/routing"
)

// Names of the installed objects that Install waits on (the install names
// of package manifests, which the controller shares).
const (
	Namespace     = manifests.Namespace
	Deployment    = manifests.Controller
	WebhookConfig = manifests.WebhookConfig
	// InjectLabel is the namespace label that enrolls a namespace; pass it
	// to the suites as --namespace-labels.
	InjectLabel = manifests.InjectLabel
	fieldOwner  = "gammaconf"
)

// Options of Install.
type Options struct {
	// WorkDir receives the built binaries and image tarballs.
	WorkDir string
	// Timeout bounds the wait for the mesh to become ready.
	Timeout time.Duration
	Log     io.Writer
	// Choices is the controller's --choices: "reference" (the default) or
	// "alternate" (see SwitchChoices).
	Choices string
	// Images are images Build already built and loaded; nil: Install
	// builds and loads them.
	Images *Images
}

// Images are the reference mesh's images, built and loaded into a cluster.
type Images struct {
	refs map[string]string
}

// Build builds the reference mesh's images into workDir and loads them
// into the cluster, without installing anything: a caller may do it while
// the cluster is busy with something else (the pipeline does it beside the
// negative control) and hand the result to Install.
func Build(ctx context.Context, c *harness.Cluster, workDir string) (*Images, error) {
	refs, tarballs, err := buildImages(ctx, workDir)
	if err != nil {
		return nil, err
	}
	if err := c.LoadImages(ctx, tarballs...); err != nil {
		return nil, err
	}
	return &Images{refs: refs}, nil
}

// Install builds, loads (through c.Loader: get c from the provider's Up or
// from providers.Open) and applies the reference mesh, and waits until the
// controller is ready and the webhook trusts its CA.
func Install(ctx context.Context, c *harness.Cluster, o Options) error {
	if o.Timeout == 0 {
		o.Timeout = 3 * time.Minute
	}
	if o.Choices == "" {
		o.Choices = routing.ChoicesReference
	}
	if _, err := routing.ChoicesByName(o.Choices); err != nil {
		return err
	}
	log := progress.New(o.Log)
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	imgs := o.Images
	if imgs == nil {
		if err := log.Step("building the reference mesh images", func() error {
			imgs, err = Build(ctx, c, o.WorkDir)
			return err
		}); err != nil {
			return err
		}
	}
	refs := maps.Clone(imgs.refs)
	refs[manifests.Choices] = o.Choices
	objs, err := renderManifests(refs)
	if err != nil {
		return err
	}
	if err := log.Step(fmt.Sprintf("applying %d objects", len(objs)), func() error {
		for _, u := range objs {
			if err := cl.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.ForceOwnership, client.FieldOwner(fieldOwner)); err != nil {
				return fmt.Errorf("applying %s %s: %w", u.GetKind(), u.GetName(), err)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	return log.Step("waiting for the control plane and the injector", func() error {
		ctx, cancel := context.WithTimeout(ctx, o.Timeout)
		defer cancel()
		if err := waitReady(ctx, cl); err != nil {
			return err
		}
		return waitInjects(ctx, cl)
	})
}

// waitInjects waits until the API server gets sidecars from the injector:
// a ready controller is not enough, the node must also route the webhook
// Service's address to it (kube-proxy programs that a moment later). It
// creates a pod in a throwaway enrolled namespace with a server-side dry
// run, which calls the webhook as every enrolled pod will, and deletes the
// namespace again.
func waitInjects(ctx context.Context, cl client.Client) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "gamma-inject-probe-",
		Labels: map[string]string{manifests.InjectLabelKey: manifests.InjectLabelValue}}}
	if err := cl.Create(ctx, ns); err != nil {
		return fmt.Errorf("creating a namespace to probe the injector: %w", err)
	}
	defer cl.Delete(context.Background(), ns)
	return poll(ctx, func() error {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: ns.Name},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "probe", Image: "probe"}}},
		}
		if err := cl.Create(ctx, pod, client.DryRunAll); err != nil {
			return fmt.Errorf("the injector does not answer yet: %w", err)
		}
		if len(pod.Spec.InitContainers) == 0 {
			return fmt.Errorf("a pod in enrolled namespace %s got no sidecar", ns.Name)
		}
		return nil
	})
}

// Uninstall removes every object Install applied, the webhook first so
// that pods of enrolled namespaces can be created again at once, and the
// XMesh the controller made. It is not an error when nothing is installed.
func Uninstall(ctx context.Context, c *harness.Cluster, logw io.Writer) error {
	log := progress.New(logw)
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	objs, err := renderManifests(map[string]string{manifests.ControllerImage: "x", manifests.ProxyImage: "x"})
	if err != nil {
		return err
	}
	slices.Reverse(objs) // the webhook first, the namespace last
	xmesh := &unstructured.Unstructured{}
	xmesh.SetAPIVersion("gateway.networking.x-k8s.io/v1alpha1")
	xmesh.SetKind("XMesh")
	xmesh.SetName(manifests.MeshName)
	objs = append(objs, xmesh)
	return log.Step("removing the reference mesh", func() error {
		for _, u := range objs {
			err := cl.Delete(ctx, u, client.PropagationPolicy("Foreground"))
			if err != nil && !apierrors.IsNotFound(err) && !strings.Contains(err.Error(), "no matches for kind") {
				return fmt.Errorf("deleting %s %s: %w", u.GetKind(), u.GetName(), err)
			}
		}
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		return poll(ctx, func() error {
			err := cl.Get(ctx, client.ObjectKey{Name: Namespace}, &corev1.Namespace{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("namespace %s still terminating", Namespace)
		})
	})
}

func newClient(c *harness.Cluster) (client.Client, error) {
	cfg, err := c.RESTConfig()
	if err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{})
}

// buildImages builds both binaries and packs each into an image tagged by
// its content, so a changed binary is never confused with a cached image.
func buildImages(ctx context.Context, workDir string) (refs map[string]string, tarballs []string, err error) {
	if workDir == "" {
		if workDir, err = os.MkdirTemp("", "gamma-mesh-"); err != nil {
			return nil, nil, err
		}
	}
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return nil, nil, err
	}
	refs = map[string]string{}
	for placeholder, name := range map[string]string{manifests.ControllerImage: "gamma-controller", manifests.ProxyImage: "gamma-proxy"} {
		bin := filepath.Join(workDir, name)
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "gamma-conformance/cmd/"+name)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, nil, fmt.Errorf("building %s (run from the gamma-conformance source tree): %w\n%s", name, err, out)
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			return nil, nil, err
		}
		sum := sha256.Sum256(data)
		ref := "localhost/gamma-conformance/" + name + ":" + hex.EncodeToString(sum[:6])
		tarball := filepath.Join(workDir, name+".tar")
		if err := images.Build(tarball, images.Image{Ref: ref, Entrypoint: []string{"/" + name}, Files: []images.File{{Dst: "/" + name, Src: bin, Mode: 0o755}}}); err != nil {
			return nil, nil, err
		}
		refs[placeholder] = ref
		tarballs = append(tarballs, tarball)
	}
	return refs, tarballs, nil
}

// renderManifests reads the embedded manifests in file order and fills in
// the image references.
func renderManifests(refs map[string]string) ([]*unstructured.Unstructured, error) {
	files, err := fs.Glob(manifests.FS, "*.yaml")
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	var out []*unstructured.Unstructured
	for _, f := range files {
		data, err := manifests.FS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for placeholder, ref := range refs {
			data = bytes.ReplaceAll(data, []byte(placeholder), []byte(ref))
		}
		dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, fmt.Errorf("manifest %s: %w", f, err)
			}
			if len(u.Object) > 0 {
				out = append(out, u)
			}
		}
	}
	return out, nil
}

// waitReady waits until the controller Deployment is available with the
// current template and the webhook configuration carries the CA.
func waitReady(ctx context.Context, cl client.Client) error {
	return poll(ctx, func() error {
		var d appsv1.Deployment
		if err := cl.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: Deployment}, &d); err != nil {
			return err
		}
		if d.Status.ObservedGeneration < d.Generation || d.Status.UpdatedReplicas < 1 || d.Status.ReadyReplicas < 1 || d.Status.Replicas != d.Status.UpdatedReplicas {
			return fmt.Errorf("deployment %s/%s: %d/%d updated replicas ready", Namespace, Deployment, d.Status.ReadyReplicas, d.Status.Replicas)
		}
		var w admissionregistrationv1.MutatingWebhookConfiguration
		if err := cl.Get(ctx, client.ObjectKey{Name: WebhookConfig}, &w); err != nil {
			return err
		}
		for _, h := range w.Webhooks {
			if len(h.ClientConfig.CABundle) == 0 {
				return fmt.Errorf("webhook %s has no caBundle yet", h.Name)
			}
		}
		return nil
	})
}

func poll(ctx context.Context, check func() error) error {
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
