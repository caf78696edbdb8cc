package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"

	"gamma-conformance/harness"
	"gamma-conformance/harness/images"
	"gamma-conformance/harness/internal/artifacts"
	"gamma-conformance/harness/providers"
)

const probeImage = "gamma-conformance.local/probe:e2e"

type env struct {
	cfg *rest.Config
	cs  *kubernetes.Clientset
	ns  string
}

func setup(t *testing.T) (*env, *harness.Cluster) {
	path := os.Getenv(harness.KubeconfigEnv)
	if path == "" {
		t.Skipf("%s is not set, so there is no cluster: run `make test` as root, or export %s=<kubeconfig>", harness.KubeconfigEnv, harness.KubeconfigEnv)
	}
	cluster, err := providers.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := cluster.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{cfg: cfg, cs: cs, ns: fmt.Sprintf("gamma-e2e-%d", time.Now().UnixNano()%1e6)}
	ctx := context.Background()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), e.ns, metav1.DeleteOptions{}) })
	// Pods of a new namespace are refused until its default ServiceAccount exists.
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts(e.ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		t.Fatalf("namespace %s never got its default ServiceAccount: %v", e.ns, err)
	}
	return e, cluster
}

// buildProbeImage builds the probe command and packs it as a local image.
func buildProbeImage(t *testing.T) string {
	dir := t.TempDir()
	bin := filepath.Join(dir, "probe")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "gamma-conformance/harness/internal/probe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building probe: %v\n%s", err, out)
	}
	tar := filepath.Join(dir, "probe.tar")
	if err := images.Build(tar, images.Image{Ref: probeImage, Entrypoint: []string{"/probe"},
		Files: []images.File{{Dst: "/probe", Src: bin}}}); err != nil {
		t.Fatal(err)
	}
	return tar
}

func (e *env) pod(t *testing.T, name string, image string, args ...string) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: new(int64),
			Containers:                    []corev1.Container{{Name: "main", Image: image, ImagePullPolicy: corev1.PullNever, Args: args}},
		},
	}
	if _, err := e.cs.CoreV1().Pods(e.ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var got *corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := e.cs.CoreV1().Pods(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		got = p
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("pod %s not Ready: %v (status %+v)", name, err, got.Status)
	}
	return got
}

// exec runs a command in a pod's container over SPDY, as the upstream suite does.
func (e *env) exec(pod string, cmd ...string) (string, error) {
	req := e.cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(e.ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: "main", Command: cmd, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ex, err := remotecommand.NewSPDYExecutor(e.cfg, "POST", req.URL())
	if err != nil {
		return "", err
	}
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		return stdout.String(), fmt.Errorf("exec %v in %s: %w: %s", cmd, pod, err, stderr.String())
	}
	return stdout.String(), nil
}

// eventually retries exec until its output contains want (kube-proxy and
// CoreDNS program new Services asynchronously).
func (e *env) eventually(t *testing.T, pod, want string, cmd ...string) string {
	t.Helper()
	var out string
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		out, err = e.exec(pod, cmd...)
		if err == nil && strings.Contains(out, want) {
			return out
		}
	}
	t.Fatalf("%v in %s: want output containing %q, got %q (last error: %v)", cmd, pod, want, out, err)
	return ""
}

func TestClusterSmoke(t *testing.T) {
	e, cluster := setup(t)
	ctx := context.Background()
	if err := cluster.LoadImages(ctx, buildProbeImage(t)); err != nil {
		t.Fatal(err)
	}
	server := e.pod(t, "server", probeImage, "serve", ":8080")
	client := e.pod(t, "client", probeImage, "serve", ":8080")
	svc, err := e.cs.CoreV1().Services(e.ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "server"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("pod-to-pod", func(t *testing.T) {
		e.eventually(t, "client", "hostname=server", "/probe", "get", "http://"+server.Status.PodIP+":8080/pod")
	})
	t.Run("service DNS name", func(t *testing.T) {
		e.eventually(t, "client", svc.Spec.ClusterIP, "/probe", "lookup", "web")
		e.eventually(t, "client", "rcode=NOERROR answers=1", "/probe", "rcode", "web."+e.ns+".svc.cluster.local")
	})
	t.Run("ClusterIP", func(t *testing.T) {
		e.eventually(t, "client", "hostname=server", "/probe", "get", "http://web/svc")
	})
	t.Run("DNS refuses names outside the cluster", func(t *testing.T) {
		e.eventually(t, "client", "rcode=NXDOMAIN answers=0", "/probe", "rcode", "gateway-api.sigs.k8s.io")
	})
	t.Run("logs", func(t *testing.T) {
		err := wait.PollUntilContextTimeout(ctx, 300*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
			raw, err := e.cs.CoreV1().Pods(e.ns).GetLogs("server", &corev1.PodLogOptions{Container: "main"}).DoRaw(ctx)
			return err == nil && strings.Contains(string(raw), "request from "+client.Status.PodIP) && strings.Contains(string(raw), "serving on :8080"), nil
		})
		if err != nil {
			t.Fatalf("the server's log does not show the client's requests: %v", err)
		}
	})
	for name, image := range map[string]string{"echo": artifacts.EchoImage, "echo17": artifacts.EchoImageV17} {
		t.Run(image+" with the upstream mesh arguments", func(t *testing.T) {
			e.pod(t, name, image, "--tcp=9090", "--port=8080", "--grpc=7070", "--port=8443", "--tls=8443", "--crt=/cert.crt", "--key=/cert.key")
			e.eventually(t, name, "StatusCode=200", "client", "http://web/echo")
		})
	}
	t.Run("NET_ADMIN in an init container", e.netAdmin)
	t.Run("service account token and TokenReview", func(t *testing.T) {
		// What a controller's webhook authentication relies on.
		exp := int64(600)
		tok, err := e.cs.CoreV1().ServiceAccounts(e.ns).CreateToken(ctx, "default", &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rev, err := e.cs.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{
			Spec: authenticationv1.TokenReviewSpec{Token: tok.Status.Token}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := "system:serviceaccount:" + e.ns + ":default"; !rev.Status.Authenticated || rev.Status.User.Username != want {
			t.Fatalf("TokenReview: authenticated=%v user=%q, want %q", rev.Status.Authenticated, rev.Status.User.Username, want)
		}
	})
	if cluster.Provider == "local" {
		// The apiserver calls admission webhooks through their Service:
		// ClusterIPs must be reachable from the host itself.
		t.Run("host to ClusterIP", func(t *testing.T) {
			c := http.Client{Timeout: 3 * time.Second}
			var body []byte
			err := wait.PollUntilContextTimeout(ctx, 300*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
				resp, err := c.Get("http://" + svc.Spec.ClusterIP + "/host")
				if err != nil {
					return false, nil
				}
				defer resp.Body.Close()
				body, _ = io.ReadAll(resp.Body)
				return strings.Contains(string(body), "hostname=server"), nil
			})
			if err != nil {
				t.Fatalf("GET http://%s/ from the host: %v (body %q)", svc.Spec.ClusterIP, err, body)
			}
		})
	}
}

// netAdmin checks that a sidecar's init container can program the pod's
// network namespace with NET_ADMIN, and that a container without the
// capability is refused.
func (e *env) netAdmin(t *testing.T) {
	ctx := context.Background()
	if out, err := e.exec("client", "/probe", "mtu", "65000"); err == nil {
		t.Fatalf("a container without NET_ADMIN changed the pod network: %s", out)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "netadmin"},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: new(int64),
			InitContainers: []corev1.Container{{Name: "init", Image: probeImage, ImagePullPolicy: corev1.PullNever,
				Args:            []string{"mtu", "65000"},
				SecurityContext: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN"}}}}},
			Containers: []corev1.Container{{Name: "main", Image: probeImage, ImagePullPolicy: corev1.PullNever, Args: []string{"serve", ":8080"}}},
		},
	}
	if _, err := e.cs.CoreV1().Pods(e.ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 300*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		raw, err := e.cs.CoreV1().Pods(e.ns).GetLogs("netadmin", &corev1.PodLogOptions{Container: "init"}).DoRaw(ctx)
		return err == nil && strings.Contains(string(raw), "mtu=65000"), nil
	})
	if err != nil {
		t.Fatalf("the NET_ADMIN init container did not set the MTU: %v", err)
	}
}
