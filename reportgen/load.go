package reportgen

import (
	"fmt"
	"os"
	"path/filepath"

	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/yaml"

	"gamma-conformance/reportgen/results"
)

// Run is one saved conformance run: its results and, when the upstream part
// ran, the upstream report exactly as the upstream suite wrote it.
type Run struct {
	// Results is the validated results file.
	Results *results.Results
	// ResultsPath is the file Results was read from.
	ResultsPath string
	// UpstreamYAML is the upstream report byte for byte; nil when the
	// upstream part did not run or wrote no report.
	UpstreamYAML []byte
	// Upstream is UpstreamYAML parsed; nil with it.
	Upstream *confv1.ConformanceReport
}

// Load reads a results file, or the results.json inside a folder, and the
// upstream report it names, and checks that the two belong together.
func Load(path string) (*Run, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, results.File)
	}
	r, err := results.Read(path)
	if err != nil {
		return nil, err
	}
	run := &Run{Results: r, ResultsPath: path}
	if r.UpstreamReport == "" {
		return run, nil
	}
	up := r.UpstreamReport
	if !filepath.IsAbs(up) {
		up = filepath.Join(filepath.Dir(path), up)
	}
	data, err := os.ReadFile(up)
	if err != nil {
		return nil, fmt.Errorf("results file %s names the upstream report %s: %w (fix: keep the upstream report beside results.json as the run wrote it)", path, r.UpstreamReport, err)
	}
	rep, err := ParseReport(data)
	if err != nil {
		return nil, fmt.Errorf("upstream report %s: %w", up, err)
	}
	if rep.GatewayAPIVersion != r.GatewayAPI.Version || rep.GatewayAPIChannel != r.GatewayAPI.Channel || rep.Mode != r.Run.Mode {
		return nil, fmt.Errorf("upstream report %s is for Gateway API %s %s mode %q but results file %s is for %s %s mode %q (fix: keep each run's report beside its own results.json)",
			up, rep.GatewayAPIVersion, rep.GatewayAPIChannel, rep.Mode, path, r.GatewayAPI.Version, r.GatewayAPI.Channel, r.Run.Mode)
	}
	run.UpstreamYAML, run.Upstream = data, rep
	return run, nil
}

// ParseReport parses a ConformanceReport YAML strictly (unknown fields are
// an error) and checks its kind.
func ParseReport(data []byte) (*confv1.ConformanceReport, error) {
	var rep confv1.ConformanceReport
	if err := yaml.UnmarshalStrict(data, &rep); err != nil {
		return nil, fmt.Errorf("not a ConformanceReport: %w (fix: pass the YAML the upstream suite wrote, unmodified)", err)
	}
	if rep.Kind != "ConformanceReport" || rep.APIVersion != confv1.GroupVersion.String() {
		return nil, fmt.Errorf("kind %q apiVersion %q, want ConformanceReport %s (fix: pass the YAML the upstream suite wrote)", rep.Kind, rep.APIVersion, confv1.GroupVersion)
	}
	return &rep, nil
}

// prefix is <channel>-<version>-<mode>, the upstream report name stem.
func (run *Run) prefix() string {
	r := run.Results
	channel, version, mode := r.GatewayAPI.Channel, r.Implementation.Version, r.Run.Mode
	if run.Upstream != nil {
		channel, version, mode = run.Upstream.GatewayAPIChannel, run.Upstream.Implementation.Version, run.Upstream.Mode
	}
	return fileSafe(channel, "unknown") + "-" + fileSafe(version, "unversioned") + "-" + fileSafe(mode, "default")
}

// fileSafe makes s usable in a file name, or returns def when s is empty.
func fileSafe(s, def string) string {
	if s == "" {
		return def
	}
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '+' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}
