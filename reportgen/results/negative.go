package results

import (
	"errors"
	"fmt"
	"strings"
)

// NotInReleasePrefix starts the Failure text of a semantics spec that is
// not supported because the installed Gateway API CRDs are older than the
// spec needs (e.g. a field only v1.7.0 has). It cannot run there, with or
// without a mesh, so the negative control of that release leaves it out;
// the negative control on a newer release shows that it can fail.
const NotInReleasePrefix = "not supported: the spec needs the CRDs of Gateway API "

// CheckNegativeControl checks a results file from a run against a cluster
// with no mesh installed: every semantics spec that tests mesh behaviour
// must have failed (so it can fail), and every spec labelled "control"
// must have passed (so the failures come from the missing mesh, not from a
// broken cluster). A skipped or not-supported spec proves nothing either
// way and is reported too; a spec the installed release cannot run
// (NotInReleasePrefix) is left out. It returns nil when the rule holds, else one
// error naming every spec that broke it.
func CheckNegativeControl(r *Results) error {
	var errs []error
	specs, controls := 0, 0
	for _, t := range r.Tests {
		if t.Suite != Semantics {
			continue
		}
		if t.Outcome == NotSupported && strings.HasPrefix(t.Failure, NotInReleasePrefix) {
			continue
		}
		specs++
		switch {
		case t.IsControl():
			controls++
			if t.Outcome != Passed {
				errs = append(errs, fmt.Errorf("control spec %q %s with no mesh; controls must pass on a bare cluster (fix the cluster or the spec)%s", t.ID, t.Outcome, why(t.Failure)))
			}
		case t.Outcome != Failed:
			errs = append(errs, fmt.Errorf("spec %q %s with no mesh; a spec that tests mesh behaviour must fail there (the spec cannot detect a missing mesh)", t.ID, t.Outcome))
		}
	}
	if specs == 0 {
		return errors.New("negative control: the results hold no semantics spec (fix: run the semantics suite, without focus or skip, against a cluster with no mesh)")
	}
	if controls == 0 {
		errs = append(errs, errors.New("no spec labelled control ran, so nothing shows the bare cluster works"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("negative control broken (%d semantics specs): %w", specs, errors.Join(errs...))
	}
	return nil
}

// why is a control's failure text for the error, indented under it: the
// last lines of a run's output are often all a CI log keeps, and they must
// say what the control saw.
func why(failure string) string {
	if failure = strings.TrimSpace(failure); failure == "" {
		return ""
	}
	return "; it failed with:\n    " + strings.ReplaceAll(failure, "\n", "\n    ")
}
