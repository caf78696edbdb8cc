package reportgen

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"gamma-conformance/profiles"
)

// chromiumFlags keep headless Chromium from reaching anything: no background
// networking, component updates, sync or first-run work, and every host name
// resolves to nothing. When run as root, the browser also runs in a fresh
// network namespace with no interface up.
var chromiumFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
	"--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
	"--disable-extensions", "--disable-default-apps", "--disable-breakpad",
	"--host-resolver-rules=MAP * ~NOTFOUND", "--hide-scrollbars",
}

// chromium runs headless Chromium on page with extra flags and returns its
// standard output.
func chromium(t *testing.T, bin, page string, extra ...string) []byte {
	t.Helper()
	args := append(append(append([]string{}, chromiumFlags...), "--user-data-dir="+t.TempDir()), extra...)
	args = append(args, "file://"+page)
	name := bin
	if unshare, err := exec.LookPath("unshare"); err == nil && os.Geteuid() == 0 {
		name, args = unshare, append([]string{"--net", bin}, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// external matches anything a page could load from elsewhere.
var external = regexp.MustCompile(`(?i)(src|href|action|poster)\s*=\s*"(https?:)?//|url\(\s*['"]?(https?:)?//|@import|<script|<link|<iframe|<object|<embed`)

// TestHTMLInHeadlessChromium renders the page in headless Chromium, checks
// that the DOM shows every profile, feature, failure and rerun command, and
// takes a screenshot that must be a real page. Set REPORTGEN_ARTIFACTS to a
// folder to keep the page and the screenshot.
func TestHTMLInHeadlessChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed, so the HTML report is not rendered: run `make chromium` (apt-get install -y --no-install-recommends chromium) to run this test")
	}
	run, out := renderFixture(t)
	page := filepath.Join(out, HTMLFile)
	html := readFile(t, page)
	if m := external.Find(html); m != nil {
		t.Fatalf("report.html refers to something outside the page: %q", m)
	}

	dom := string(chromium(t, bin, page, "--dump-dom"))
	text := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(dom, " ")
	text = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#39;", "'", "&quot;", `"`).Replace(text)
	var want []string
	for _, p := range run.Results.Profiles {
		want = append(want, p.Name)
	}
	want = append(want, UnprofiledName, profiles.ProducerRoute, "HTTPRoute307RedirectStatusCode",
		"Failures (3)", failedUpstream, failedUnprofiled, failedSpec,
		"Core tests failed with 1 test failures. Extended tests partially succeeded with 1 test skips.")
	for _, tt := range run.Results.Tests {
		if tt.Outcome == "failed" {
			want = append(want, tt.Rerun)
		}
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("the page Chromium rendered does not show %q", w)
		}
	}
	if n := strings.Count(dom, "<img "); n != 4 {
		t.Errorf("page shows %d badges, want 4", n)
	}

	shot := filepath.Join(t.TempDir(), "report.png")
	if dir := os.Getenv("REPORTGEN_ARTIFACTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		shot = filepath.Join(dir, "report.png")
		if err := os.WriteFile(filepath.Join(dir, HTMLFile), html, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	chromium(t, bin, page, "--window-size=1280,3000", "--screenshot="+shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("Chromium wrote no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	checkScreenshot(t, img)
}

// checkScreenshot fails unless the image is a full page with text and the
// badge and outcome colours on it.
func checkScreenshot(t *testing.T, img image.Image) {
	t.Helper()
	b := img.Bounds()
	if b.Dx() < 1000 || b.Dy() < 2000 {
		t.Fatalf("screenshot is %v, want the 1280x3000 window", b)
	}
	colours := map[color.RGBA]int{}
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), 255}]++
		}
	}
	if len(colours) < 50 {
		t.Errorf("screenshot has %d colours: a blank or broken page", len(colours))
	}
	white := colours[color.RGBA{255, 255, 255, 255}]
	if total := (b.Dx() / 2) * (b.Dy() / 2); white > total*99/100 {
		t.Errorf("screenshot is %d%% white: nothing rendered", white*100/total)
	}
	for name, c := range map[string]color.RGBA{"badge green": {0x97, 0xca, 0x00, 255}, "badge red": {0xe0, 0x5d, 0x44, 255}} {
		if !near(colours, c) {
			t.Errorf("screenshot has no %s (%v) pixel", name, c)
		}
	}
}

// near reports whether some colour within a few steps of c is present
// (badges get a faint gradient).
func near(colours map[color.RGBA]int, c color.RGBA) bool {
	d := func(a, b uint8) int {
		if a > b {
			return int(a - b)
		}
		return int(b - a)
	}
	for k := range colours {
		if d(k.R, c.R)+d(k.G, c.G)+d(k.B, c.B) <= 24 {
			return true
		}
	}
	return false
}
