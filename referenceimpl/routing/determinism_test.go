package routing

import (
	"encoding/json"
	"math/rand/v2"
	"runtime"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/referenceimpl/meshconfig"
)

func encode(t testing.TB, out Output) string {
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkCompile is the property every snapshot must have: no panic, tables
// the proxy accepts, and the same output for the same objects in any order.
func checkCompile(t testing.TB, r *rand.Rand, in Input) {
	out := Compile(in)
	if _, err := meshconfig.NewIndex(&meshconfig.Snapshot{Tables: out.Tables}); err != nil {
		t.Fatalf("compiled tables do not validate: %v", err)
	}
	want := encode(t, out)
	for i := 0; i < 3; i++ {
		if got := encode(t, Compile(shuffled(r, in))); got != want {
			t.Fatalf("output depends on input order:\n got %s\nwant %s", got, want)
		}
	}
}

func TestDeterministicInAnyOrder(t *testing.T) {
	// "Deterministic: the same snapshot in any input order gives identical
	// tables and statuses."
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 50; i++ {
		checkCompile(t, r, generate(r, genParams{namespaces: 4, services: 6, routes: 12, chaos: i%2 == 0, policies: true}))
	}
}

func TestDeterministicInAnyOrderAlternate(t *testing.T) {
	// The same property with the Alternate choices (merged HTTP and gRPC
	// tables, merged TCPRoutes, ReferenceGrants).
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 50; i++ {
		in := generate(r, genParams{namespaces: 4, services: 6, routes: 12, chaos: i%2 == 0, policies: true})
		in.Choices = Alternate
		in.ReferenceGrants = []gatewayv1.ReferenceGrant{{ObjectMeta: metav1.ObjectMeta{Namespace: in.Services[0].Namespace, Name: "grant"},
			Spec: gatewayv1.ReferenceGrantSpec{
				From: []gatewayv1.ReferenceGrantFrom{{Group: gatewayv1.GroupName, Kind: KindHTTPRoute, Namespace: gatewayv1.Namespace(in.Services[len(in.Services)-1].Namespace)}},
				To:   []gatewayv1.ReferenceGrantTo{{Kind: "Service"}}}}}
		checkCompile(t, r, in)
	}
}

func TestTablesOnlyWhereRoutesAre(t *testing.T) {
	// Memory must grow with routes, not with namespaces × Services: a
	// table exists only for a Service port some route binds, and an
	// overlay only for a namespace that has consumer routes.
	r := rand.New(rand.NewPCG(3, 4))
	in := generate(r, genParams{namespaces: 200, services: 2000, routes: 300})
	out := Compile(in)
	attachments := 0
	for _, st := range out.Statuses {
		attachments += 4 * len(st.Parents) // at most 4 ports per parent
	}
	if len(out.Tables) == 0 || len(out.Tables) > attachments {
		t.Fatalf("%d tables for %d routes (%d possible attachments)", len(out.Tables), len(in.HTTPRoutes)+len(in.GRPCRoutes)+len(in.TCPRoutes)+len(in.TLSRoutes), attachments)
	}
}

func FuzzCompile(f *testing.F) {
	f.Add(uint64(1), uint64(2), uint8(3), uint8(5), uint8(8))
	f.Add(uint64(42), uint64(7), uint8(1), uint8(1), uint8(20))
	f.Fuzz(func(t *testing.T, s1, s2 uint64, nsCount, svcCount, routeCount uint8) {
		r := rand.New(rand.NewPCG(s1, s2))
		p := genParams{namespaces: 1 + int(nsCount%5), services: 1 + int(svcCount%8), routes: int(routeCount % 24), chaos: true}
		checkCompile(t, r, generate(r, p))
	})
}

// BenchmarkCompile10k compiles 10,000 Services, 20,000 routes and 200
// namespaces and reports compile_10k_ms (time per compile) and
// compile_10k_mb (heap held by the output).
func BenchmarkCompile10k(b *testing.B) {
	in := generate(rand.New(rand.NewPCG(10, 20)), genParams{namespaces: 200, services: 10000, routes: 20000})
	var out Output
	var before, after runtime.MemStats
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out = Compile(in)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "compile_10k_ms")
	out = Output{}
	runtime.GC()
	runtime.ReadMemStats(&before)
	out = Compile(in)
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "compile_10k_mb")
	b.ReportMetric(float64(len(out.Tables)), "compile_10k_tables")
	runtime.KeepAlive(out)
	runtime.KeepAlive(in)
}
