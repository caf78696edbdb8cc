package e2eframework

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/klient/k8s"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/klient/wait/conditions"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/envfuncs"
	"sigs.k8s.io/e2e-framework/pkg/features"
	"sigs.k8s.io/e2e-framework/support"

	"gamma-conformance/harness/images"
	"gamma-conformance/reportgen/results"
	"gamma-conformance/suites/semantics"
)

const (
	helloImage = "gamma-conformance.local/e2eframework-hello:v1"
	helloSays  = "hello from an image loaded through the e2e-framework provider"
)

type nsKey struct{}

// TestGammaCluster checks, through e2e-framework's client and the
// provider it keeps, the cluster and the image loader, then runs the
// semantics suite's pass-through controls (they need no mesh and no
// Gateway API CRDs: `make test`'s cluster may have neither).
func TestGammaCluster(t *testing.T) {
	if testenv == nil {
		t.Skip(skipReason)
	}
	f := features.New("a GAMMA cluster through e2e-framework").
		Setup(createNamespace).
		Assess("the provider adopted the cluster that is up", adopted).
		Assess("every node is Ready", nodesReady).
		Assess("an image loaded through the provider's image loader runs", imageRuns).
		Assess("the semantics suite's pass-through controls pass", semanticsControls).
		Teardown(deleteNamespace).
		Feature()
	testenv.Test(t, f)
}

// provider returns the cluster provider that envfuncs.CreateCluster keeps.
func provider(ctx context.Context, t *testing.T) support.E2EClusterProviderWithImageLoader {
	t.Helper()
	p, ok := envfuncs.GetClusterFromContext(ctx, clusterName)
	if !ok {
		t.Fatalf("no cluster %q in the context: TestMain's envfuncs.CreateCluster did not run", clusterName)
	}
	loader, ok := p.(support.E2EClusterProviderWithImageLoader)
	if !ok {
		t.Fatalf("the provider %T has no image loader", p)
	}
	return loader
}

func adopted(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	p := provider(ctx, t)
	if a, ok := p.(interface{ Adopted() bool }); !ok || !a.Adopted() {
		t.Errorf("the provider %T did not adopt the cluster that `make test` brought up: DestroyCluster would bring it down under the other packages", p)
	}
	if p.KubernetesRestConfig() == nil || p.GetKubeconfig() == "" {
		t.Errorf("the provider gives no client config (%v) or kubeconfig (%q)", p.KubernetesRestConfig(), p.GetKubeconfig())
	}
	return ctx
}

func nodesReady(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
	var nodes corev1.NodeList
	if err := cfg.Client().Resources().List(ctx, &nodes); err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) == 0 {
		t.Fatal("the cluster has no node")
	}
	for _, n := range nodes.Items {
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status != corev1.ConditionTrue {
				t.Errorf("node %s is not Ready: %s", n.Name, c.Message)
			}
		}
	}
	return ctx
}

func createNamespace(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: envconf.RandomName("gamma-e2eframework", 24)}}
	if err := cfg.Client().Resources().Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	// Pods are refused until the namespace's default ServiceAccount exists.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns.Name}}
	if err := wait.For(conditions.New(cfg.Client().Resources()).ResourceMatch(sa, func(k8s.Object) bool { return true }), wait.WithTimeout(time.Minute)); err != nil {
		t.Fatalf("namespace %s got no default ServiceAccount: %v", ns.Name, err)
	}
	return context.WithValue(ctx, nsKey{}, ns.Name)
}

func deleteNamespace(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
	if name, ok := ctx.Value(nsKey{}).(string); ok {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := cfg.Client().Resources().Delete(ctx, ns); err != nil {
			t.Errorf("deleting namespace %s: %v", name, err)
		}
	}
	return ctx
}

// imageRuns packs testdata/hello as an image, loads it with the
// provider's LoadImageArchive, and runs it in a pod that may not pull.
func imageRuns(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
	dir := t.TempDir()
	bin := filepath.Join(dir, "hello")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./testdata/hello")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building testdata/hello: %v\n%s", err, out)
	}
	tarball := filepath.Join(dir, "hello.tar")
	if err := images.Build(tarball, images.Image{Ref: helloImage, Entrypoint: []string{"/hello"},
		Files: []images.File{{Dst: "/hello", Src: bin, Mode: 0o755}}}); err != nil {
		t.Fatal(err)
	}
	if err := provider(ctx, t).LoadImageArchive(ctx, tarball); err != nil {
		t.Fatal(err)
	}
	ns := ctx.Value(nsKey{}).(string)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: ns},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "hello", Image: helloImage, ImagePullPolicy: corev1.PullNever}}},
	}
	if err := cfg.Client().Resources().Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if err := wait.For(conditions.New(cfg.Client().Resources()).PodPhaseMatch(pod, corev1.PodSucceeded), wait.WithTimeout(2*time.Minute)); err != nil {
		t.Fatalf("pod %s/hello did not succeed: %v (status %+v)", ns, err, pod.Status)
	}
	cs, err := kubernetes.NewForConfig(cfg.Client().RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	logs, err := cs.CoreV1().Pods(ns).GetLogs("hello", &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil || !strings.Contains(string(logs), helloSays) {
		t.Fatalf("pod %s/hello logged %q (%v), want %q", ns, logs, err, helloSays)
	}
	return ctx
}

// semanticsControls calls the semantics library: the two pass-through
// controls with no routes, which hold on any working cluster. Their
// feature is extended, so the run claims every feature (the selection
// keeps it to those two specs). A vendor passes its mesh's NamespaceLabels
// and claims what its mesh supports (SupportedFeatures, or MeshName).
func semanticsControls(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
	res := semantics.Run(t, semantics.Config{
		RESTConfig:  cfg.Client().RESTConfig(),
		LabelFilter: results.ControlLabel,
		Focus:       []string{"^Pass-through with no routes "},
		AllFeatures: true,
		Context:     ctx,
	})
	if n := res.Count(); n.Passed != 2 || n.Failed != 0 {
		t.Errorf("semantics controls: %+v, want the 2 pass-through controls with no routes passed", n)
	}
	return ctx
}
