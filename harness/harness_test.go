package harness

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeKubeconfig writes a kubeconfig with one context per server, named
// after its index ("c0", "c1", ...), the first one current.
func writeKubeconfig(t *testing.T, servers ...string) string {
	t.Helper()
	cfg := clientcmdapi.Config{Clusters: map[string]*clientcmdapi.Cluster{}, AuthInfos: map[string]*clientcmdapi.AuthInfo{"u": {Token: "t"}},
		Contexts: map[string]*clientcmdapi.Context{}, CurrentContext: "c0"}
	for i, s := range servers {
		name := "c" + string(rune('0'+i))
		cfg.Clusters[name] = &clientcmdapi.Cluster{Server: s}
		cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: "u"}
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRESTConfigFollowsTheContext(t *testing.T) {
	path := writeKubeconfig(t, "https://10.0.0.1:6443", "https://10.0.0.2:6443")
	for _, tc := range []struct{ context, host string }{{"", "https://10.0.0.1:6443"}, {"c1", "https://10.0.0.2:6443"}} {
		cfg, err := (&Cluster{Kubeconfig: path, Context: tc.context}).RESTConfig()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Host != tc.host {
			t.Errorf("context %q: host %s, want %s", tc.context, cfg.Host, tc.host)
		}
	}
	_, err := (&Cluster{Kubeconfig: path, Context: "nope"}).RESTConfig()
	if !IsSetup(err) || !strings.Contains(err.Error(), `context "nope"`) || !strings.Contains(err.Error(), "fix:") {
		t.Errorf("unknown context: err = %v, want a SetupError naming the context and the fix", err)
	}
	if _, err := (&Cluster{}).RESTConfig(); !IsSetup(err) || !strings.Contains(err.Error(), "--kubeconfig") {
		t.Errorf("no kubeconfig: err = %v", err)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	path := writeKubeconfig(t, "https://10.0.0.1:6443")
	c, err := ReadRecord(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Provider != "existing" || c.Kubeconfig != path {
		t.Fatalf("without a record: %+v, want an existing cluster", c)
	}
	want := Cluster{Provider: "kind", Name: "gamma", Kubeconfig: path, Context: "kind-gamma"}
	if err := want.Save(); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRecord(path)
	if err != nil {
		t.Fatal(err)
	}
	if *got != want {
		t.Fatalf("read %+v, saved %+v", *got, want)
	}
	if err := got.LoadImages(context.Background(), "x.tar"); err == nil || !strings.Contains(err.Error(), "providers.Open") {
		t.Errorf("LoadImages without a Loader: err = %v, want one that says to use providers.Open", err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), RecordFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRecord(path); err == nil || !strings.Contains(err.Error(), "remove it") {
		t.Errorf("broken record: err = %v", err)
	}
	if _, err := ReadRecord(filepath.Join(t.TempDir(), "none")); !IsSetup(err) || !strings.Contains(err.Error(), "gammaconf cluster up") {
		t.Errorf("missing kubeconfig: err = %v", err)
	}
}
