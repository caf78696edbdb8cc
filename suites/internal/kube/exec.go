package kube

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/gateway-api/conformance/utils/echo"
)

// Request is one batch of requests sent by the echo client from a pod.
type Request struct {
	// URL like http://echo-v1.ns:80/path or grpc://echo:7070 or tcp://echo:9090.
	URL     string
	Method  string
	Headers map[string]string
	// Count is the batch size (the client's --count); 0 means 1.
	Count int
}

// Args is the echo client command line for r.
func (r Request) Args() []string {
	args := []string{"client", r.URL}
	if r.Method != "" && !strings.HasPrefix(r.URL, "grpc://") && !strings.HasPrefix(r.URL, "tcp://") {
		args = append(args, "--method="+r.Method)
	}
	keys := make([]string, 0, len(r.Headers))
	for k := range r.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-H", k+":"+r.Headers[k])
	}
	if r.Count > 1 {
		args = append(args, "--count="+strconv.Itoa(r.Count))
	}
	return args
}

// Result is what one exec of the client returned.
type Result struct {
	Args      []string
	Responses []echo.Response
	Stdout    string
	Stderr    string
	// Err is the exec error: non-nil when the client exited non-zero
	// (connection refused or reset, gRPC errors, timeouts).
	Err error
}

// Pod is a pod the specs send requests from.
type Pod struct {
	Namespace, Name, IP string
}

// PodOf returns the first running pod of app in namespace ns.
func (c *Cluster) PodOf(ctx context.Context, ns, app string) (Pod, error) {
	var pods corev1.PodList
	if err := c.Client.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{"app": app}); err != nil {
		return Pod{}, err
	}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			return Pod{Namespace: ns, Name: p.Name, IP: p.Status.PodIP}, nil
		}
	}
	return Pod{}, fmt.Errorf("no running pod of app %s in namespace %s", app, ns)
}

// Send runs the echo client in the "echo" container of from.
func (c *Cluster) Send(ctx context.Context, from Pod, r Request) Result {
	res := Result{Args: r.Args()}
	stdout, stderr, err := c.Exec(ctx, from, "echo", res.Args)
	res.Stdout, res.Stderr, res.Err = stdout, stderr, err
	res.Responses = SplitResponses(stdout)
	return res
}

// Exec runs cmd in container of pod over SPDY and returns its output.
func (c *Cluster) Exec(ctx context.Context, pod Pod, container string, cmd []string) (string, string, error) {
	req := c.Clientset.CoreV1().RESTClient().Post().
		Resource("pods").Name(pod.Name).Namespace(pod.Namespace).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: cmd, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ex, err := remotecommand.NewSPDYExecutor(c.Config, "POST", req.URL())
	if err != nil {
		return "", "", err
	}
	var stdout, stderr bytes.Buffer
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr})
	return stdout.String(), stderr.String(), err
}

var indexPrefix = regexp.MustCompile(`^\[(\d+)(?: body)?\] `)

// SplitResponses splits the client's output into one parsed response per
// request: the client prefixes every line with the request index ("[3] " or
// "[3 body] "). Lines without an index belong to no response.
func SplitResponses(out string) []echo.Response {
	groups := map[int]*strings.Builder{}
	for line := range strings.SplitSeq(out, "\n") {
		m := indexPrefix.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		i, _ := strconv.Atoi(m[1])
		if groups[i] == nil {
			groups[i] = &strings.Builder{}
		}
		groups[i].WriteString(line)
		groups[i].WriteByte('\n')
	}
	idx := make([]int, 0, len(groups))
	for i := range groups {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	out2 := make([]echo.Response, 0, len(idx))
	for _, i := range idx {
		out2 = append(out2, echo.ParseResponse(groups[i].String()))
	}
	return out2
}
