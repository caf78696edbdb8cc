// Package images packs local files (typically static binaries) into OCI image
// tarballs without a registry or a container engine, using go-containerregistry.
//
// The tarball is an OCI image layout whose index carries the
// io.containerd.image.name annotation, so `ctr images import` and
// `kind load image-archive` both tag the image with the full reference.
package images

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is one file of the image: the content of Src (a path on this host) or
// Data, written at Dst (an absolute path inside the image).
type File struct {
	Dst  string
	Src  string
	Data []byte
	// Mode is the file mode; 0 means the mode of Src, or 0644 for Data.
	Mode os.FileMode
}

// Image describes an image to pack.
type Image struct {
	// Ref is the full image reference, e.g. "registry.k8s.io/pause:3.10".
	Ref        string
	Entrypoint []string
	Cmd        []string
	Env        []string
	// Dir, when set, is a root filesystem tree that the layer starts with
	// (owners, modes, links and device nodes kept); Files are added after it.
	Dir   string
	Files []File
	// Docker writes a `docker save` archive (for `docker load`) instead of
	// an OCI image layout.
	Docker bool
}

// Build writes img as an OCI image-layout tarball at out. The file is written
// atomically: on error nothing is left at out.
func Build(out string, img Image) error {
	ref, err := name.ParseReference(img.Ref, name.WithDefaultTag("latest"))
	if err != nil {
		return fmt.Errorf("image reference %q is invalid: %w (use registry/name:tag)", img.Ref, err)
	}
	if len(img.Files) == 0 && img.Dir == "" {
		return fmt.Errorf("image %s has no files: give at least one File or a Dir", img.Ref)
	}
	work, err := os.MkdirTemp(filepath.Dir(out), ".image-*")
	if err != nil {
		return fmt.Errorf("creating a work directory next to %s: %w", out, err)
	}
	defer os.RemoveAll(work)

	layerTar := filepath.Join(work, "layer.tar")
	if err := writeLayer(layerTar, img.Dir, img.Files); err != nil {
		return fmt.Errorf("image %s: %w", img.Ref, err)
	}
	layer, err := tarball.LayerFromFile(layerTar,
		tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.BestSpeed))
	if err != nil {
		return fmt.Errorf("image %s: reading layer: %w", img.Ref, err)
	}
	env := img.Env
	if len(env) == 0 {
		env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	image, err := mutate.ConfigFile(base, &v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Config:       v1.Config{Entrypoint: img.Entrypoint, Cmd: img.Cmd, Env: env},
		RootFS:       v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return fmt.Errorf("image %s: config: %w", img.Ref, err)
	}
	if image, err = mutate.AppendLayers(image, layer); err != nil {
		return fmt.Errorf("image %s: adding layer: %w", img.Ref, err)
	}
	tmp := filepath.Join(work, "image.tar")
	if img.Docker {
		tagged, err := name.NewTag(ref.Name(), name.WithDefaultTag("latest"))
		if err != nil {
			return fmt.Errorf("image %s: a docker archive needs a tag: %w", img.Ref, err)
		}
		if err := tarball.WriteToFile(tmp, tagged, image); err != nil {
			return fmt.Errorf("image %s: %w", img.Ref, err)
		}
		return os.Rename(tmp, out)
	}
	dir := filepath.Join(work, "oci")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("image %s: writing layout: %w", img.Ref, err)
	}
	tag := ref.Identifier()
	if err := p.AppendImage(image, layout.WithAnnotations(map[string]string{
		"io.containerd.image.name":          ref.Name(),
		"org.opencontainers.image.ref.name": tag,
	})); err != nil {
		return fmt.Errorf("image %s: writing layout: %w", img.Ref, err)
	}
	if err := tarDir(tmp, dir); err != nil {
		return fmt.Errorf("image %s: %w", img.Ref, err)
	}
	return os.Rename(tmp, out)
}

// writeLayer writes a tar of the tree dir (if any) then of files (with
// their parent directories) in a reproducible order, owned by root, with zero
// timestamps.
func writeLayer(out, dir string, files []File) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	if dir != "" {
		if err := writeTree(tw, dir); err != nil {
			return fmt.Errorf("root filesystem %s: %w", dir, err)
		}
	}
	sorted := append([]File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Dst < sorted[j].Dst })
	dirs := map[string]bool{}
	for _, file := range sorted {
		if !path.IsAbs(file.Dst) {
			return fmt.Errorf("file destination %q must be an absolute path inside the image", file.Dst)
		}
		dst := strings.TrimPrefix(path.Clean(file.Dst), "/")
		var parents []string
		for d := path.Dir(dst); d != "." && !dirs[d]; d = path.Dir(d) {
			parents = append([]string{d}, parents...)
			dirs[d] = true
		}
		for _, d := range parents {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, Format: tar.FormatPAX}); err != nil {
				return err
			}
		}
		if err := writeFile(tw, dst, file); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}

func writeFile(tw *tar.Writer, dst string, file File) error {
	mode, size := file.Mode, int64(len(file.Data))
	var r io.Reader = strings.NewReader(string(file.Data))
	if file.Src != "" {
		src, err := os.Open(file.Src)
		if err != nil {
			return fmt.Errorf("file for %s: %w", file.Dst, err)
		}
		defer src.Close()
		st, err := src.Stat()
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("file for %s: %s is not a regular file", file.Dst, file.Src)
		}
		if mode == 0 {
			mode = st.Mode().Perm()
		}
		size, r = st.Size(), src
	}
	if mode == 0 {
		mode = 0o644
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: dst, Mode: int64(mode.Perm()), Size: size, Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err := io.Copy(tw, r)
	return err
}

// tarDir writes the tree under dir into a tar at out.
func tarDir(out, dir string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	if err := writeTree(tw, dir); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}

// writeTree writes every entry under dir (files, directories, symbolic
// links, device nodes) with its owner and mode.
func writeTree(tw *tar.Writer, dir string) error {
	return filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&os.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Uname, hdr.Gname = "", ""
		hdr.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil || !info.Mode().IsRegular() {
			return err
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
}
