package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"gamma-conformance/harness/crds"
	"gamma-conformance/harness/testenv"
)

// Bad input gets one clear error (naming the problem and the fix) and a
// non-zero exit, before anything is built, created or changed.

func TestUnknownProvider(t *testing.T) {
	for _, sub := range []string{"up", "down", "status"} {
		oneError(t, exitUsage, `unknown provider "docker"|--provider=local|kind or existing`, "cluster", sub, "--provider=docker")
	}
}

func TestLocalProviderWithoutRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		// Already not root: gammaconf sees what it would see under sudo-less use.
		oneError(t, exitUsage, "the local provider needs root|sudo|--provider existing", "cluster", "up", "--dir", t.TempDir())
		return
	}
	// As root, run gammaconf (this test binary, see TestMain) as the user
	// nobody. The binary is copied where nobody can run it.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "gammaconf-nobody-") // t.TempDir's parent is closed to others
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "gammaconf")
	copyFile(t, self, bin)
	state := filepath.Join(dir, "state")
	for _, sub := range []string{"up", "down", "status"} {
		cmd := exec.Command(bin, "cluster", sub, "--dir", state)
		cmd.Env = append(os.Environ(), mainEnv+"=1", "HOME="+dir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		checkOneError(t, stderr.String(), code, exitUsage, "the local provider needs root|sudo|--provider existing")
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("the refused command made its state folder %s (%v)", state, err)
	}
}

func TestUnreachableKubeconfig(t *testing.T) {
	// A port that nothing listens on: the listener is closed before use.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := "https://" + l.Addr().String()
	l.Close()
	kubeconfig := writeKubeconfig(t, server, nil)
	out := filepath.Join(t.TempDir(), "out")
	says := "does not answer|" + server + "|connection refused|gammaconf cluster status"
	oneError(t, exitUsage, says, "run", "--kubeconfig", kubeconfig, "--output-dir", out)
	oneError(t, exitUsage, says, "cluster", "up", "--provider=existing", "--kubeconfig", kubeconfig)
	oneError(t, exitUsage, says, "cluster", "status", "--provider=existing", "--kubeconfig", kubeconfig)
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused run made its output folder %s (%v)", out, err)
	}
	garbage := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(garbage, []byte("not: [a kubeconfig"), 0o600)
	oneError(t, exitUsage, "kubeconfig "+garbage+"|fix:", "cluster", "up", "--provider=existing", "--kubeconfig", garbage)
	oneError(t, exitUsage, "no kubeconfig given|--kubeconfig", "cluster", "up", "--provider=existing")
}

func TestUnknownFeatureName(t *testing.T) {
	// Checked before the cluster is contacted: this kubeconfig leads nowhere.
	kubeconfig := writeKubeconfig(t, "https://127.0.0.1:1", nil)
	oneError(t, exitUsage, `unknown feature name "MeshClusterIpMatching" in --supported-features|did you mean MeshClusterIPMatching?`,
		"run", "--kubeconfig", kubeconfig, "--", "--supported-features=Mesh,MeshClusterIpMatching")
	oneError(t, exitUsage, `unknown feature name "Frobnicate" in --exempt-features`,
		"run", "--kubeconfig", kubeconfig, "--", "--exempt-features", "Frobnicate")
}

func TestExistingClusterWithoutGatewayAPI(t *testing.T) {
	cfg := testenv.Start(t)
	kubeconfig := writeKubeconfig(t, cfg.Host, func(c *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) {
		c.CertificateAuthorityData = cfg.CAData
		u.ClientCertificateData, u.ClientKeyData = cfg.CertData, cfg.KeyData
	})

	// The cluster answers: status says so.
	out, stderr, code := gammaconf(t, "cluster", "status", "--provider=existing", "--kubeconfig", kubeconfig)
	if code != 0 || !bytes.Contains([]byte(out), []byte("existing cluster: Kubernetes v")) {
		t.Fatalf("status of a working cluster: exit %d, %q %q", code, out, stderr)
	}
	says := "does not serve the Gateway API resources httproutes, grpcroutes|gammaconf crds install"
	oneError(t, exitUsage, says, "cluster", "up", "--provider=existing", "--kubeconfig", kubeconfig)
	outDir := filepath.Join(t.TempDir(), "out")
	oneError(t, exitUsage, says, "run", "--kubeconfig", kubeconfig, "--output-dir", outDir)
	if _, err := os.Stat(outDir); !os.IsNotExist(err) {
		t.Errorf("a refused run made its output folder %s (%v)", outDir, err)
	}
}

func TestGatewayAPIVersion(t *testing.T) {
	// Unknown: refused before the cluster is contacted.
	kubeconfig := writeKubeconfig(t, "https://127.0.0.1:1", nil)
	oneError(t, exitUsage, `unknown Gateway API version "v1.5.1"|this harness runs v1.7.0 or v1.6.3`,
		"run", "--kubeconfig", kubeconfig, "--gateway-api-version", "v1.5.1")
	oneError(t, exitUsage, `unknown Gateway API version "v2"|this harness runs v1.7.0 or v1.6.3`,
		"conformance", "--provider", "existing", "--kubeconfig", kubeconfig, "--gateway-api-version", "v2")

	// A cluster with the CRDs of v1.6.3: the default release (v1.7.0) is
	// refused with the fix, before anything is built.
	cfg := testenv.Start(t)
	if _, err := crds.Install(t.Context(), cfg, crds.Experimental); err != nil {
		t.Fatal(err)
	}
	kubeconfig = writeKubeconfig(t, cfg.Host, func(c *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) {
		c.CertificateAuthorityData = cfg.CAData
		u.ClientCertificateData, u.ClientKeyData = cfg.CertData, cfg.KeyData
	})
	outDir := filepath.Join(t.TempDir(), "out")
	oneError(t, exitUsage, `serves the CRDs of Gateway API "v1.6.3", not v1.7.0|gammaconf crds install --version v1.7.0 --prune|--gateway-api-version`,
		"run", "--kubeconfig", kubeconfig, "--output-dir", outDir)
	if _, err := os.Stat(outDir); !os.IsNotExist(err) {
		t.Errorf("a refused run made its output folder %s (%v)", outDir, err)
	}
}

// writeKubeconfig writes a kubeconfig for server; auth fills in credentials.
func writeKubeconfig(t *testing.T, server string, auth func(*clientcmdapi.Cluster, *clientcmdapi.AuthInfo)) string {
	t.Helper()
	c := &clientcmdapi.Cluster{Server: server}
	u := &clientcmdapi.AuthInfo{Token: "t"}
	if auth != nil {
		u.Token = ""
		auth(c, u)
	}
	cfg := clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{"c": c},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{"u": u},
		Contexts:       map[string]*clientcmdapi.Context{"c": {Cluster: "c", AuthInfo: "u"}},
		CurrentContext: "c",
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRepeatMustBePositive(t *testing.T) {
	oneError(t, exitUsage, "--repeat 0: must be at least 1", "run", "--repeat", "0")
	oneError(t, exitUsage, "--repeat 3|1 with --negative-control", "run", "--repeat", "3", "--negative-control")
	oneError(t, exitUsage, `unknown provider "docker"`, "conformance", "--provider=docker")
}

func TestUnknownGatewayAPIVersion(t *testing.T) {
	oneError(t, exitUsage, `unknown Gateway API version "v1.5.1": this harness runs v1.7.0 or v1.6.3`, "crds", "install", "--version", "v1.5.1", "--kubeconfig", "/nonexistent")
}
