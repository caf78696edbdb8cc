package controller

import (
	"reflect"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/referenceimpl/meshconfig"
)

const ours = gatewayv1.GatewayController("example.com/ours")

func parentEntry(name string, ctrl gatewayv1.GatewayController, status metav1.ConditionStatus, at time.Time) gatewayv1.RouteParentStatus {
	return gatewayv1.RouteParentStatus{
		ParentRef:      gatewayv1.ParentReference{Name: gatewayv1.ObjectName(name)},
		ControllerName: ctrl,
		Conditions:     []metav1.Condition{{Type: "Accepted", Status: status, Reason: "R", LastTransitionTime: metav1.NewTime(at)}},
	}
}

func TestMergeParentsKeepsForeignEntries(t *testing.T) {
	// "conditions of other controllers are kept, never removed"
	t1, t2 := time.Unix(100, 0), time.Unix(200, 0)
	foreign := parentEntry("svc", "example.com/other", metav1.ConditionFalse, t1)
	existing := []gatewayv1.RouteParentStatus{foreign, parentEntry("svc", ours, metav1.ConditionTrue, t1)}
	want := []gatewayv1.RouteParentStatus{parentEntry("svc", ours, metav1.ConditionTrue, time.Time{})}
	merged, changed := mergeParents(existing, want, ours, metav1.NewTime(t2))
	if changed {
		t.Fatalf("nothing changed but merge says it did: %+v", merged)
	}
	if len(merged) != 2 || merged[0].ControllerName != "example.com/other" {
		t.Fatalf("foreign entry lost: %+v", merged)
	}
	if got := merged[1].Conditions[0].LastTransitionTime.Time; !got.Equal(t1) {
		t.Fatalf("lastTransitionTime moved to %v though the status did not change", got)
	}
}

func TestMergeParentsUpdatesAndRemovesOurs(t *testing.T) {
	t1, t2 := time.Unix(100, 0), time.Unix(200, 0)
	existing := []gatewayv1.RouteParentStatus{parentEntry("a", ours, metav1.ConditionTrue, t1), parentEntry("gone", ours, metav1.ConditionTrue, t1)}
	want := []gatewayv1.RouteParentStatus{parentEntry("a", ours, metav1.ConditionFalse, time.Time{})}
	merged, changed := mergeParents(existing, want, ours, metav1.NewTime(t2))
	if !changed || len(merged) != 1 {
		t.Fatalf("changed=%v merged=%+v", changed, merged)
	}
	if c := merged[0].Conditions[0]; c.Status != metav1.ConditionFalse || !c.LastTransitionTime.Time.Equal(t2) {
		t.Fatalf("condition %+v: a status change must take the new transition time", c)
	}
	if _, changed := mergeParents(nil, nil, ours, metav1.NewTime(t2)); changed {
		t.Fatal("no status and nothing to write must not be a change")
	}
}

func TestMergeParentsCapsAtAPILimit(t *testing.T) {
	var existing, want []gatewayv1.RouteParentStatus
	for i := 0; i < 20; i++ {
		existing = append(existing, parentEntry(string(rune('a'+i)), "example.com/other", metav1.ConditionTrue, time.Unix(1, 0)))
		want = append(want, parentEntry(string(rune('a'+i)), ours, metav1.ConditionTrue, time.Time{}))
	}
	merged, _ := mergeParents(existing, want, ours, metav1.Now())
	if len(merged) != maxParents {
		t.Fatalf("%d parents, the API allows %d", len(merged), maxParents)
	}
}

func podWith(containers ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c, Image: "app"})
	}
	return p
}

var injectCfg = InjectConfig{ProxyImage: "localhost/proxy:1", ControlPlane: "https://cp:15012", CAPEM: "PEM"}

func TestInjectAddsInitAndSidecar(t *testing.T) {
	p := podWith("echo")
	if !inject(p, injectCfg) {
		t.Fatal("pod not injected")
	}
	ic := p.Spec.InitContainers
	if len(ic) != 2 || ic[0].Name != initContainerName || ic[1].Name != proxyContainerName {
		t.Fatalf("init containers %+v", ic)
	}
	if ic[1].RestartPolicy == nil || *ic[1].RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Fatal("the proxy must be a native sidecar")
	}
	if *ic[1].SecurityContext.RunAsUser != proxyUID || ic[0].SecurityContext.Capabilities.Add[0] != "NET_ADMIN" {
		t.Fatal("proxy must run as the excluded UID, init with NET_ADMIN")
	}
	if ic[0].ImagePullPolicy != corev1.PullNever || ic[1].Image != injectCfg.ProxyImage {
		t.Fatal("images are preloaded, never pulled")
	}
	if p.Spec.Containers[0].Name != "echo" || len(p.Spec.Containers) != 1 {
		t.Fatal("app containers must stay as they are (the suite execs into \"echo\")")
	}
	vol := p.Spec.Volumes[len(p.Spec.Volumes)-1]
	if vol.Projected.Sources[0].ServiceAccountToken.Audience != TokenAudience {
		t.Fatal("token audience")
	}
	if inject(p, injectCfg) {
		t.Fatal("a second injection must do nothing")
	}
}

func TestInjectSkips(t *testing.T) {
	host := podWith("x")
	host.Spec.HostNetwork = true
	optOut := podWith("x")
	optOut.Annotations = map[string]string{InjectAnnotation: "false"}
	for name, p := range map[string]*corev1.Pod{"hostNetwork": host, "opt-out": optOut} {
		if inject(p, injectCfg) || len(p.Spec.InitContainers) != 0 {
			t.Errorf("%s pod was injected", name)
		}
	}
}

func TestSetCABundle(t *testing.T) {
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: "a"}, {Name: "b"}}}
	if !setCABundle(cfg, []byte("CA")) || string(cfg.Webhooks[1].ClientConfig.CABundle) != "CA" {
		t.Fatal("caBundle not set")
	}
	if setCABundle(cfg, []byte("CA")) {
		t.Fatal("no change expected")
	}
}

func TestPublisherVersions(t *testing.T) {
	p := NewPublisher()
	select {
	case <-p.Ready():
		t.Fatal("ready before the first compile")
	default:
	}
	s0, _ := p.Current()
	if !p.Publish(nil) {
		t.Fatal("first publish must count as a change")
	}
	s1, changed := p.Current()
	if s1.Version == s0.Version {
		t.Fatal("version did not move")
	}
	tables := []meshconfig.Table{{Service: meshconfig.ServiceKey{Namespace: "a", Name: "b"}, Port: 80}}
	if !p.Publish(tables) {
		t.Fatal("new tables not published")
	}
	select {
	case <-changed:
	default:
		t.Fatal("waiters not woken")
	}
	s2, _ := p.Current()
	if p.Publish(tables) {
		t.Fatal("same tables must not bump the version")
	}
	if s3, _ := p.Current(); s3.Version != s2.Version || s2.Version != s1.Version+1 {
		t.Fatalf("versions %d %d %d", s1.Version, s2.Version, s3.Version)
	}
}

func TestSessionToV163(t *testing.T) {
	// Gateway API v1.7.0 renamed SessionPersistence's fields: cookie{name,
	// path, lifetimeType} and header{name} replace sessionName and
	// cookieConfig{lifetimeType}.
	for _, c := range []struct {
		name       string
		in, want   map[string]any
		cookiePath string
	}{{
		name: "v1.7.0 cookie",
		in: map[string]any{"type": "Cookie", "absoluteTimeout": "1h",
			"cookie": map[string]any{"name": "c", "path": "/app", "lifetimeType": "Permanent"}},
		want: map[string]any{"type": "Cookie", "absoluteTimeout": "1h", "sessionName": "c",
			"cookieConfig": map[string]any{"lifetimeType": "Permanent"}},
		cookiePath: "/app",
	}, {
		name: "v1.7.0 header",
		in:   map[string]any{"type": "Header", "header": map[string]any{"name": "x-s"}},
		want: map[string]any{"type": "Header", "sessionName": "x-s"},
	}, {
		name: "v1.7.0 cookie with defaults only",
		in:   map[string]any{"type": "Cookie", "cookie": map[string]any{"path": "/", "lifetimeType": "Session"}},
		want: map[string]any{"type": "Cookie", "cookieConfig": map[string]any{"lifetimeType": "Session"}}, cookiePath: "/",
	}, {
		name: "v1.6.3 is left as it is",
		in:   map[string]any{"type": "Cookie", "sessionName": "c", "cookieConfig": map[string]any{"lifetimeType": "Session"}},
		want: map[string]any{"type": "Cookie", "sessionName": "c", "cookieConfig": map[string]any{"lifetimeType": "Session"}},
	}} {
		t.Run(c.name, func(t *testing.T) {
			got := c.in
			path := sessionToV163(got)
			if !reflect.DeepEqual(got, c.want) || path != c.cookiePath {
				t.Fatalf("got %v path %q, want %v path %q", got, path, c.want, c.cookiePath)
			}
		})
	}
}
