package reportgen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"sigs.k8s.io/yaml"
)

// File is one rendered file; Name is relative to the output folder.
type File struct {
	Name string
	Data []byte
}

// File names inside an output folder.
const (
	JUnitFile  = "junit.xml"
	HTMLFile   = "report.html"
	BadgesDir  = "badges"
	ReadmeFile = "README.md"
)

// Render renders every report of a run in memory; see the package
// documentation for the files.
func Render(run *Run) ([]File, error) {
	prefix := run.prefix()
	var files []File
	if run.Upstream != nil {
		files = append(files, File{prefix + "-report.yaml", run.UpstreamYAML})
	}
	sem := semanticsReport(run.Results)
	if sem != nil {
		data, err := yaml.Marshal(sem)
		if err != nil {
			return nil, fmt.Errorf("render semantics report: %w", err)
		}
		files = append(files, File{prefix + "-semantics-report.yaml", data})
	}
	junit, err := renderJUnit(run.Results)
	if err != nil {
		return nil, err
	}
	page, err := renderHTML(run, sem)
	if err != nil {
		return nil, err
	}
	files = append(files, File{JUnitFile, junit}, File{HTMLFile, page})
	return append(files, BadgeFiles(run.Badges())...), nil
}

// Badges makes the badges of every profile of the upstream report and of
// our semantics report.
func (run *Run) Badges() []Badge {
	var out []Badge
	if run.Upstream != nil {
		out = Badges(run.Upstream)
	}
	if sem := semanticsReport(run.Results); sem != nil {
		out = append(out, Badges(sem)...)
	}
	return out
}

// BadgeFiles places badges in the badges folder.
func BadgeFiles(badges []Badge) []File {
	var out []File
	for _, b := range badges {
		out = append(out, File{filepath.Join(BadgesDir, b.FileName()), b.SVG})
	}
	return out
}

// Write writes files into dir. Every file goes to a temporary file first and
// is renamed into place only when all were written, so a failure leaves no
// half-written report and no new folder behind.
func Write(dir string, files []File) (err error) {
	var made, tmps []string
	defer func() {
		if err == nil {
			return
		}
		for _, t := range tmps {
			os.Remove(t)
		}
		for _, d := range slices.Backward(made) {
			os.Remove(d) // only empty folders go
		}
	}()
	for _, f := range files {
		target := filepath.Join(dir, f.Name)
		if err := mkdirParents(filepath.Dir(target), &made); err != nil {
			return fmt.Errorf("write reports: %w (fix: pass an --output folder you can write)", err)
		}
		t, err := os.CreateTemp(filepath.Dir(target), ".render-*")
		if err != nil {
			return fmt.Errorf("write reports: %w (fix: pass an --output folder you can write)", err)
		}
		tmps = append(tmps, t.Name())
		_, werr := t.Write(f.Data)
		if err := errors.Join(werr, t.Chmod(0o644), t.Close()); err != nil {
			return fmt.Errorf("write %s: %w", target, err)
		}
	}
	for i, f := range files {
		if err := os.Rename(tmps[i], filepath.Join(dir, f.Name)); err != nil {
			return fmt.Errorf("write %s: %w", filepath.Join(dir, f.Name), err)
		}
	}
	return nil
}

// mkdirParents creates d and its missing parents, recording what it made.
func mkdirParents(d string, made *[]string) error {
	if _, err := os.Stat(d); err == nil {
		return nil
	}
	if parent := filepath.Dir(d); parent != d {
		if err := mkdirParents(parent, made); err != nil {
			return err
		}
	}
	if err := os.Mkdir(d, 0o755); err != nil {
		return err
	}
	*made = append(*made, d)
	return nil
}
