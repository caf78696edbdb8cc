// Package gotest captures the output of the go test framework while it is
// also shown, and attributes each line to the test that printed it. The
// upstream conformance tests report failures only through *testing.T, so
// this is how their failure text reaches the results file.
package gotest

import (
	"bufio"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Capture tees os.Stdout through a pipe and keeps every line per test name.
type Capture struct {
	orig *os.File
	w    *os.File
	done chan struct{}

	mu    sync.Mutex
	lines map[string][]string
}

// maxLinesPerTest bounds the memory one chatty test can take.
const maxLinesPerTest = 400

var (
	header = regexp.MustCompile(`^=== (?:RUN|PAUSE|CONT|NAME)\s+(\S+)`)
	result = regexp.MustCompile(`^\s*--- (?:FAIL|PASS|SKIP): (\S+) \(`)
)

// Start replaces os.Stdout. The go test framework reads os.Stdout when it
// starts running tests, so call Start before testing.M.Run.
func Start() (*Capture, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	c := &Capture{orig: os.Stdout, w: w, done: make(chan struct{}), lines: map[string][]string{}}
	os.Stdout = w
	go c.read(r)
	return c, nil
}

func (c *Capture) read(r io.Reader) {
	defer close(c.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	current := ""
	for sc.Scan() {
		line := sc.Text()
		io.WriteString(c.orig, line+"\n")
		if m := header.FindStringSubmatch(line); m != nil {
			current = m[1]
			continue
		}
		if m := result.FindStringSubmatch(line); m != nil {
			current = m[1]
			continue
		}
		if current == "" {
			continue
		}
		c.mu.Lock()
		l := append(c.lines[current], strings.TrimSpace(line))
		if len(l) > maxLinesPerTest {
			l = l[len(l)-maxLinesPerTest:]
		}
		c.lines[current] = l
		c.mu.Unlock()
	}
	// Keep the pipe drained even if a line was too long to scan.
	io.Copy(c.orig, r)
}

// Stop restores os.Stdout and waits until every captured line was shown.
func (c *Capture) Stop() {
	os.Stdout = c.orig
	c.w.Close()
	<-c.done
}

// Output returns the lines printed by test and its subtests, in order of
// the test names.
func (c *Capture) Output(test string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	out = append(out, c.lines[test]...)
	var subs []string
	for name := range c.lines {
		if strings.HasPrefix(name, test+"/") {
			subs = append(subs, name)
		}
	}
	sort.Strings(subs)
	for _, name := range subs {
		out = append(out, "["+strings.TrimPrefix(name, test+"/")+"]")
		out = append(out, c.lines[name]...)
	}
	return strings.Join(out, "\n")
}
