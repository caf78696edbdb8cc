package images

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
)

func untar(t *testing.T, file, dir string) {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, hdr.Name)
		if hdr.Typeflag == tar.TypeDir {
			os.MkdirAll(p, 0o755)
			continue
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
		data, _ := io.ReadAll(tr)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBuildWritesATaggedOCILayout(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "tool")
	if err := os.WriteFile(src, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "img.tar")
	ref := "example.local/team/tool:v1"
	err := Build(out, Image{Ref: ref, Entrypoint: []string{"/usr/bin/tool"}, Files: []File{
		{Dst: "/usr/bin/tool", Src: src},
		{Dst: "/etc/tool.conf", Data: []byte("x=1\n")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	oci := filepath.Join(dir, "oci")
	untar(t, out, oci)
	idx, err := layout.ImageIndexFromPath(oci)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Annotations["io.containerd.image.name"] != ref {
		t.Fatalf("index manifests %+v: want one image annotated %s", im.Manifests, ref)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != "/usr/bin/tool" {
		t.Fatalf("entrypoint %v", cfg.Config.Entrypoint)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %v %v", layers, err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	modes := map[string]int64{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		modes[hdr.Name] = hdr.Mode
	}
	if modes["usr/bin/tool"] != 0o755 || modes["etc/tool.conf"] != 0o644 || modes["usr/bin/"] == 0 {
		t.Fatalf("layer entries and modes: %v", modes)
	}
}

func TestBuildRejectsBadInputAndLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "img.tar")
	for name, img := range map[string]Image{
		"relative destination": {Ref: "example.local/x:v1", Files: []File{{Dst: "x", Data: []byte("a")}}},
		"missing source":       {Ref: "example.local/x:v1", Files: []File{{Dst: "/x", Src: filepath.Join(dir, "nope")}}},
		"bad reference":        {Ref: "UPPER/Case::", Files: []File{{Dst: "/x", Data: []byte("a")}}},
		"no files":             {Ref: "example.local/x:v1"},
	} {
		if err := Build(out, img); err == nil {
			t.Errorf("%s: Build succeeded", name)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 0 {
			t.Errorf("%s: left %v behind", name, entries)
		}
	}
}
