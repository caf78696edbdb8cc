package reportgen

import (
	"testing"
	"time"
)

// BenchmarkRender loads and renders the fixture run (22 upstream tests,
// 6 specs, every file of an output folder) and reports one load and render
// as render_ms.
func BenchmarkRender(b *testing.B) {
	path := fixtureRun(b)
	start := time.Now()
	for b.Loop() {
		run, err := Load(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Render(run); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "render_ms")
}
