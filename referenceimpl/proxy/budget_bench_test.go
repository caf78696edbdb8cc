package proxy

import (
	"io"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"gamma-conformance/referenceimpl/meshconfig"
)

// BenchmarkRetryBudget measures retry_budget_amplification: one client
// sending requests one after another for 30 s through a real proxy to a
// backend that fails half of them (503), with route retry attempts 3 and
// the XBackendTrafficPolicy default budget (20 % over 10 s, minimum 10
// retries per second). Amplification is what the backend received divided
// by what the client sent. The budget allows at most 1.25 (20 % of all
// requests may be retries: 1/0.8) plus the minimum rate, reported as
// retry_budget_bound; without a budget it would be 1.875.
func BenchmarkRetryBudget(b *testing.B) {
	const (
		duration   = 30 * time.Second
		minRetries = 10
	)
	for range b.N {
		be := countingServer(b, "be", func(int64, *http.Request) (int, time.Duration) {
			if rand.IntN(2) == 0 {
				return 503, 0
			}
			return 200, 0
		})
		bk := backend("be", 1, be.endpoint())
		bk.RetryBudget = &meshconfig.RetryBudget{Service: meshconfig.ServiceKey{Namespace: "ns", Name: "be"},
			Percent: 20, Interval: 10 * time.Second, MinRetries: minRetries, MinInterval: time.Second}
		r := rule("r", bk)
		r.Retry = &meshconfig.Retry{Attempts: 3, Codes: []int{503}, Backoff: time.Millisecond}

		h := newHarness(b, "client-ns")
		h.apply(&meshconfig.Snapshot{Version: 1, Tables: []meshconfig.Table{table(vip, 80, &meshconfig.HTTPTable{
			Rules: []meshconfig.HTTPRule{r}, Matches: []meshconfig.HTTPMatch{prefix(0, "/")}})}})
		c := h.client(false)

		sent := 0
		start := time.Now()
		next := start.Add(5 * time.Second)
		for time.Since(start) < duration {
			resp, err := c.Get("http://" + vip + "/")
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			sent++
			if now := time.Now(); now.After(next) {
				b.Logf("%s elapsed: %d client requests, backend received %d", now.Sub(start).Round(time.Second), sent, be.n.Load())
				next = next.Add(5 * time.Second)
			}
		}
		received := float64(be.n.Load())
		bound := 1.25 + minRetries*duration.Seconds()/float64(sent)
		b.ReportMetric(received/float64(sent), "retry_budget_amplification")
		b.ReportMetric(bound, "retry_budget_bound")
		b.ReportMetric(float64(sent)/duration.Seconds(), "retry_budget_client_rps")
		if received/float64(sent) > bound {
			b.Errorf("amplification %.3f exceeds the budget's bound %.3f", received/float64(sent), bound)
		}
	}
}
