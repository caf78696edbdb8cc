package proxy

import (
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gamma-conformance/referenceimpl/meshconfig"
)

// TestLoadWithConfigSwaps sends 10,000 requests (HTTP/1.1 and h2c) through
// a 70/30 split while the configuration is replaced 50 times: no request
// may fail or reach another backend, the split must hold within ±5 %, and
// no goroutines or heap may be left behind.
func TestLoadWithConfigSwaps(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	const requests, swaps, workers = 10000, 50, 8
	v1a, v1b, v2, decoy := echoServer(t, "v1"), echoServer(t, "v1"), echoServer(t, "v2"), echoServer(t, "decoy")
	h := newHarness(t, "")
	snap := func(version uint64) *meshconfig.Snapshot {
		// Every version moves the v1 share between its two endpoints and
		// renames the route, and routes another VIP to a decoy.
		eps := []string{endpoint(v1a), endpoint(v1b)}[:1+version%2]
		return &meshconfig.Snapshot{Version: version, Tables: []meshconfig.Table{
			table(vip, 80, &meshconfig.HTTPTable{
				Rules:   []meshconfig.HTTPRule{rule(fmt.Sprintf("split-%d", version), backend("v1", 70, eps...), backend("v2", 30, endpoint(v2)))},
				Matches: []meshconfig.HTTPMatch{prefix(0, "/")},
			}),
			table("10.96.0.11", 80, &meshconfig.HTTPTable{
				Rules: []meshconfig.HTTPRule{rule("decoy", backend("decoy", 1, endpoint(decoy)))}, Matches: []meshconfig.HTTPMatch{prefix(0, "/")},
			}),
		}}
	}
	h.apply(snap(1))
	settle := func() (int, uint64) {
		var ms runtime.MemStats
		for range 3 {
			runtime.GC()
			time.Sleep(50 * time.Millisecond)
		}
		runtime.ReadMemStats(&ms)
		return runtime.NumGoroutine(), ms.HeapAlloc
	}
	g0, heap0 := settle()

	var sent, failed, v1s, v2s, other atomic.Int64
	var wg sync.WaitGroup
	clients := []*http.Client{h.client(false), h.client(true)}
	for w := range workers {
		c := clients[w%2]
		wg.Go(func() {
			for sent.Add(1) <= requests {
				resp, err := c.Get("http://" + vip + "/")
				if err != nil {
					failed.Add(1)
					continue
				}
				resp.Body.Close()
				switch resp.Header.Get("X-Backend") {
				case "v1":
					v1s.Add(1)
				case "v2":
					v2s.Add(1)
				default:
					other.Add(1)
				}
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
			}
		})
	}
	for v := uint64(2); v < 2+swaps; v++ {
		time.Sleep(20 * time.Millisecond)
		h.apply(snap(v))
	}
	wg.Wait()
	if got := h.p.cfg.Load().Snapshot().Version; got != 1+swaps {
		t.Errorf("version %d after the swaps, want %d", got, 1+swaps)
	}
	if failed.Load() != 0 || other.Load() != 0 || v1s.Load()+v2s.Load() != requests {
		t.Errorf("%d failed, %d mis-routed, %d+%d answered of %d", failed.Load(), other.Load(), v1s.Load(), v2s.Load(), requests)
	}
	if share := float64(v1s.Load()) / requests; share < 0.65 || share > 0.75 {
		t.Errorf("v1 share %.3f, want 0.70±0.05", share)
	}
	for _, c := range clients {
		c.CloseIdleConnections()
	}
	h.p.http.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	g1, heap1 := settle()
	for g1 > g0+2 && time.Now().Before(deadline) {
		g1, heap1 = settle()
	}
	t.Logf("goroutines %d → %d, heap %d → %d KiB, v1 share %.3f", g0, g1, heap0>>10, heap1>>10, float64(v1s.Load())/requests)
	if g1 > g0+2 {
		t.Errorf("goroutines grew from %d to %d", g0, g1)
	}
	if heap1 > heap0+8<<20 {
		t.Errorf("heap grew from %d to %d KiB", heap0>>10, heap1>>10)
	}
}
