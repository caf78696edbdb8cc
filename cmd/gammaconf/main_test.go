package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// mainEnv, when set, makes the test binary run gammaconf's main with its
// arguments: a test can then run gammaconf as another user.
const mainEnv = "GAMMACONF_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) != "" {
		main()
	}
	os.Exit(m.Run())
}

// gammaconf runs gammaconf in this process and returns its stdout, stderr
// and exit code.
func gammaconf(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = execute(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), code
}

// oneError runs gammaconf and checks that it fails with the exit code want
// and exactly one error line, the last line of stderr, that contains every
// part of says.
func oneError(t *testing.T, want int, says string, args ...string) {
	t.Helper()
	_, stderr, code := gammaconf(t, args...)
	checkOneError(t, stderr, code, want, says)
}

func checkOneError(t *testing.T, stderr string, code, want int, says string) {
	t.Helper()
	if code != want {
		t.Errorf("exit code %d, want %d (documented in --help); stderr:\n%s", code, want, stderr)
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	var errs []string
	for _, l := range lines {
		if strings.HasPrefix(l, "gammaconf:") {
			errs = append(errs, l)
		}
	}
	if len(errs) != 1 || errs[0] != lines[len(lines)-1] {
		t.Fatalf("want exactly one error line, last on stderr; stderr:\n%s", stderr)
	}
	for _, part := range strings.Split(says, "|") {
		if !strings.Contains(errs[0], part) {
			t.Errorf("the error does not say %q:\n%s", part, errs[0])
		}
	}
}
