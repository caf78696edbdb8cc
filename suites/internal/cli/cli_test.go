package cli

import (
	"os"
	"testing"
)

func TestRerunCommandReplacesSelection(t *testing.T) {
	saved := os.Args
	defer func() { os.Args = saved }()
	os.Args = []string{"/bin/suites.test", "-test.run", "Test.*", "--kubeconfig=/k", "--ginkgo.focus=old", "--skip-tests", "A,B", "--all-features", "--namespace-labels=a=b c"}
	got := RerunCommand("TestSemantics", "--ginkgo.focus=^x y$")
	want := `/bin/suites.test '-test.run=^TestSemantics$' --kubeconfig=/k --all-features '--namespace-labels=a=b c' '--ginkgo.focus=^x y$'`
	if got != want {
		t.Errorf("rerun\n got %s\nwant %s", got, want)
	}
}
