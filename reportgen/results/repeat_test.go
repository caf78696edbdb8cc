package results

import (
	"strings"
	"testing"
	"time"
)

func TestMergeTellsFlakyFromPassAndFail(t *testing.T) {
	run := func(end time.Time, outcomes map[string]Outcome, secs float64) *Results {
		r := &Results{SchemaVersion: SchemaVersion, Run: Run{End: end}}
		for _, id := range []string{"steady", "broken", "flaky", "unclaimed"} {
			tt := Test{ID: id, Suite: Semantics, Outcome: outcomes[id], DurationSeconds: secs, Rerun: "x"}
			if tt.Outcome == Failed {
				tt.Failure = "boom at " + id
			}
			r.Tests = append(r.Tests, tt)
		}
		return r
	}
	t0 := time.Unix(0, 0)
	runs := []*Results{
		run(t0, map[string]Outcome{"steady": Passed, "broken": Failed, "flaky": Passed, "unclaimed": NotSupported}, 1),
		run(t0.Add(time.Minute), map[string]Outcome{"steady": Passed, "broken": Failed, "flaky": Failed, "unclaimed": NotSupported}, 3),
		run(t0.Add(2*time.Minute), map[string]Outcome{"steady": Passed, "broken": Failed, "flaky": Passed, "unclaimed": NotSupported}, 2),
	}
	m, err := MergeRepeats(runs)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Test{}
	for _, tt := range m.Tests {
		got[tt.ID] = tt
	}
	if s := got["steady"]; s.Outcome != Passed || *s.Repeats != (Repeats{Runs: 3, Passed: 3, MedianSeconds: 2, MaxSeconds: 3}) {
		t.Errorf("steady: %s %+v", s.Outcome, s.Repeats)
	}
	if b := got["broken"]; b.Outcome != Failed || b.Repeats.Passed != 0 || b.Failure != "boom at broken" {
		t.Errorf("broken: %s %+v %q", b.Outcome, b.Repeats, b.Failure)
	}
	if f := got["flaky"]; f.Outcome != Flaky || f.Repeats.Passed != 2 || !strings.Contains(f.Failure, "passed 2 of 3 runs") {
		t.Errorf("flaky: %s %+v %q", f.Outcome, f.Repeats, f.Failure)
	}
	if u := got["unclaimed"]; u.Outcome != NotSupported || u.Repeats != nil {
		t.Errorf("unclaimed: %s %+v", u.Outcome, u.Repeats)
	}
	if c := m.Count(Semantics); c.Flaky != 1 || c.Passed != 1 || c.Failed != 1 || c.NotSupported != 1 {
		t.Errorf("counts %+v", c)
	}
	if !m.Run.End.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("end %v", m.Run.End)
	}
	if _, err := MergeRepeats(nil); err == nil {
		t.Error("merge of no runs succeeded")
	}
}
