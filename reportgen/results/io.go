package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// Read loads and validates a results file.
func Read(path string) (*Results, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read results file: %w (fix: pass the results.json a suite run wrote into its output folder)", err)
	}
	var probe struct {
		SchemaVersion string `json:"schemaVersion"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("results file %s is not JSON: %w (fix: pass the results.json a suite run wrote)", path, err)
	}
	if probe.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("results file %s has schemaVersion %q, this build reads %q (fix: render it with the gamma-conformance release that wrote it, or rerun the suites)", path, probe.SchemaVersion, SchemaVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Results
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("results file %s: %w (fix: rerun the suites; the file was edited or truncated)", path, err)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("results file %s: %w", path, err)
	}
	return &r, nil
}

// Write validates r and writes it to path atomically (a temporary file in
// the same folder, then a rename), so a reader never sees half a file.
func Write(path string, r *Results) error {
	if err := r.Validate(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	tmp, err := os.CreateTemp(filepath.Dir(path), ".results-*.json")
	if err != nil {
		return fmt.Errorf("write results file: %w (fix: make the output folder writable)", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("write results file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write results file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write results file: %w", err)
	}
	return nil
}

// Validate checks the invariants every results file holds and returns one
// error listing every problem found.
func (r *Results) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if r.SchemaVersion != SchemaVersion {
		bad("schemaVersion is %q, want %q", r.SchemaVersion, SchemaVersion)
	}
	if r.SuiteVersion == "" {
		bad("suiteVersion is empty")
	}
	if r.Run.Start.IsZero() || r.Run.End.IsZero() || r.Run.End.Before(r.Run.Start) {
		bad("run start %v and end %v must be set, end not before start", r.Run.Start, r.Run.End)
	}
	profiles := map[string]bool{}
	for _, p := range r.Profiles {
		if p.Name == "" || (p.Suite != Upstream && p.Suite != Semantics) {
			bad("profile %q: needs a name and suite upstream or semantics", p.Name)
		}
		if profiles[p.Name] {
			bad("profile %q listed twice", p.Name)
		}
		profiles[p.Name] = true
	}
	seen := map[string]bool{}
	for i, t := range r.Tests {
		where := fmt.Sprintf("tests[%d] %q", i, t.ID)
		if t.ID == "" {
			bad("tests[%d]: empty id", i)
		}
		key := string(t.Suite) + "/" + t.ID
		if seen[key] {
			bad("%s: duplicate id in suite %s", where, t.Suite)
		}
		seen[key] = true
		if t.Suite != Upstream && t.Suite != Semantics {
			bad("%s: suite %q, want upstream or semantics", where, t.Suite)
		}
		if !slices.Contains([]Outcome{Passed, Failed, Skipped, NotSupported, Flaky}, t.Outcome) {
			bad("%s: outcome %q, want passed, failed, skipped, not-supported or flaky", where, t.Outcome)
		}
		if t.Outcome == Flaky && (t.Repeats == nil || t.Repeats.Passed == 0 || t.Repeats.Passed == t.Repeats.Runs) {
			bad("%s: flaky without repeats that both passed and failed", where)
		}
		if (t.Outcome == Failed || t.Outcome == Flaky) && t.Failure == "" {
			bad("%s: failed with no failure text", where)
		}
		if t.DurationSeconds < 0 {
			bad("%s: negative duration", where)
		}
		if t.Rerun == "" {
			bad("%s: no rerun command", where)
		}
		for _, a := range t.Profiles {
			if !profiles[a.Profile] {
				bad("%s: attributed to profile %q which is not in profiles", where, a.Profile)
			}
			if a.Level != Core && a.Level != Extended {
				bad("%s: level %q, want core or extended", where, a.Level)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid results: %w", errors.Join(errs...))
	}
	return nil
}
