package budget

import (
	"testing"
	"time"

	"gamma-conformance/referenceimpl/meshconfig"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var svc = meshconfig.ServiceKey{Namespace: "ns", Name: "svc"}

// TestPercent: "if the retry budget interval is 10 seconds, there have been
// 1000 active requests in the past 10 seconds, and the allowed percentage of
// requests that can be retried is 20% (the default), then 200 of those
// requests may be composed of retries."
func TestPercent(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	b := New(meshconfig.RetryBudget{Service: svc, Percent: 20, Interval: 10 * time.Second}, c.now)
	for i := 0; i < 800; i++ {
		b.Request()
	}
	allowed := 0
	for b.Retry() {
		allowed++
	}
	if allowed != 200 {
		t.Fatalf("800 requests at 20%%: %d retries allowed, want 200 (of 1000 requests)", allowed)
	}
	// The interval slides: 11 s later the old requests no longer count.
	c.t = c.t.Add(11 * time.Second)
	if b.Retry() {
		t.Fatal("retry allowed with no recent requests and no minimum rate")
	}
}

func TestMinRetryRate(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	b := New(meshconfig.RetryBudget{Service: svc, Percent: 0, Interval: 10 * time.Second, MinRetries: 3, MinInterval: time.Second}, c.now)
	for second := 0; second < 3; second++ {
		allowed := 0
		for b.Retry() {
			allowed++
		}
		if allowed != 3 {
			t.Fatalf("second %d: %d retries at a minimum of 3/s and 0%%", second, allowed)
		}
		c.t = c.t.Add(time.Second)
	}
}

func TestSetKeepsBudgetPerConfig(t *testing.T) {
	s := NewSet(nil)
	cfg := meshconfig.RetryBudget{Service: svc, Percent: 20, Interval: time.Second}
	a := s.Get(&cfg)
	if s.Get(&cfg) != a {
		t.Fatal("same configuration, different budget")
	}
	changed := cfg
	changed.Percent = 30
	if s.Get(&changed) == a || len(s.m) != 1 {
		t.Fatalf("changed configuration kept the old budget (%d budgets)", len(s.m))
	}
	if s.Get(nil) != nil {
		t.Fatal("nil configuration has a budget")
	}
}
