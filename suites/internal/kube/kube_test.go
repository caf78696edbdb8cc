package kube

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func TestSplitResponsesByRequestIndex(t *testing.T) {
	out := `[0] Url=http://echo/
[0] StatusCode=200
[0 body] Hostname=echo-v1-abc
[0 body] ResponseHeader=X-A:1
[1] StatusCode=503
[1 body] Hostname=echo-v2-def
unrelated line
`
	rs := SplitResponses(out)
	if len(rs) != 2 {
		t.Fatalf("got %d responses, want 2", len(rs))
	}
	if rs[0].Code != "200" || rs[0].Hostname != "echo-v1-abc" || rs[0].ResponseHeaders.Get("X-A") != "1" {
		t.Errorf("first response %+v", rs[0])
	}
	if rs[1].Code != "503" || rs[1].Hostname != "echo-v2-def" {
		t.Errorf("second response %+v", rs[1])
	}
}

func TestRequestArgs(t *testing.T) {
	got := strings.Join(Request{URL: "http://a/", Method: "POST", Headers: map[string]string{"b": "2", "a": "1"}, Count: 3}.Args(), " ")
	if got != "client http://a/ --method=POST -H a:1 -H b:2 --count=3" {
		t.Errorf("args %q", got)
	}
	if got := strings.Join(Request{URL: "grpc://a:7070", Method: "POST"}.Args(), " "); got != "client grpc://a:7070" {
		t.Errorf("grpc args %q", got)
	}
}

func TestCheckAcceptsAnyAllowedReason(t *testing.T) {
	entry := func(status metav1.ConditionStatus, reason string) gatewayv1.RouteParentStatus {
		return gatewayv1.RouteParentStatus{ControllerName: "x.io/mesh", Conditions: []metav1.Condition{{Type: "Accepted", Status: status, Reason: reason}}}
	}
	want := Want{Type: "Accepted", Status: metav1.ConditionFalse, Reasons: []string{"Conflicted", "RouteReasonConflicted"}}
	if err := Check([]gatewayv1.RouteParentStatus{entry("False", "RouteReasonConflicted")}, want); err != nil {
		t.Error(err)
	}
	if err := Check([]gatewayv1.RouteParentStatus{entry("False", "NoMatchingParent")}, want); err == nil || !strings.Contains(err.Error(), "Accepted=False/NoMatchingParent") {
		t.Errorf("wrong reason accepted or badly described: %v", err)
	}
	if err := Check(nil, want); err == nil {
		t.Error("no entries accepted")
	}
}

func TestSameParentAppliesDefaults(t *testing.T) {
	ref := func(group string, ns *string, port int32) gatewayv1.ParentReference {
		r := gatewayv1.ParentReference{Group: ptr.To(gatewayv1.Group(group)), Kind: ptr.To(gatewayv1.Kind("Service")), Name: "echo"}
		if ns != nil {
			r.Namespace = ptr.To(gatewayv1.Namespace(*ns))
		}
		if port != 0 {
			r.Port = ptr.To(gatewayv1.PortNumber(port))
		}
		return r
	}
	if !sameParent(ref("", nil, 0), ref("core", ptr.To("ns"), 0), "ns") {
		t.Error(`group "" and core, defaulted namespace: should match`)
	}
	if sameParent(ref("", nil, 80), ref("", nil, 0), "ns") {
		t.Error("port 80 and no port: should differ")
	}
	if sameParent(ref("", ptr.To("a"), 0), ref("", ptr.To("b"), 0), "ns") {
		t.Error("namespaces a and b: should differ")
	}
}
