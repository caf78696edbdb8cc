package reportgen

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"

	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
)

// Badge colours, the shields.io named colours the gateway-api
// implementations page uses.
const (
	colorSuccess = "#97ca00" // green
	colorPartial = "#fe7d37" // orange
	colorFailure = "#e05d44" // red
)

// Badge is one profile's badge.
type Badge struct {
	Profile string
	Label   string
	Message string
	Result  confv1.Result
	SVG     []byte
}

// Badges makes one badge per profile of a ConformanceReport: label
// "Gateway API Mesh Conformance <version>", message "<profile>: passed/total"
// (core and extended together), green when both levels succeeded, orange
// when one is partial, red when one failed.
func Badges(rep *confv1.ConformanceReport) []Badge {
	var out []Badge
	for _, p := range rep.ProfileReports {
		passed, total := counts(p.Core)
		res := p.Core.Result
		if p.Extended != nil {
			ep, et := counts(p.Extended.Status)
			passed, total = passed+ep, total+et
			res = worst(res, p.Extended.Result)
		}
		b := Badge{
			Profile: p.Name,
			Label:   "Gateway API Mesh Conformance " + rep.GatewayAPIVersion,
			Message: fmt.Sprintf("%s: %d/%d", p.Name, passed, total),
			Result:  res,
		}
		b.SVG = badgeSVG(b.Label, b.Message, badgeColor(res))
		out = append(out, b)
	}
	return out
}

// FileName is the badge's file name inside the badges folder.
func (b Badge) FileName() string { return strings.ToLower(fileSafe(b.Profile, "profile")) + ".svg" }

func counts(s confv1.Status) (passed, total uint32) {
	return s.Passed, s.Passed + s.Failed + s.Skipped
}

func worst(a, b confv1.Result) confv1.Result {
	rank := map[confv1.Result]int{confv1.Success: 0, confv1.Partial: 1, confv1.Failure: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func badgeColor(r confv1.Result) string {
	switch r {
	case confv1.Success:
		return colorSuccess
	case confv1.Partial:
		return colorPartial
	}
	return colorFailure
}

// badgeTemplate is the shields.io "flat" badge. Text is drawn at 10× scale
// and stretched to the estimated width with textLength, so the badge looks
// the same whatever font the viewer has.
var badgeTemplate = template.Must(template.New("badge").Parse(
	`<svg xmlns="http://www.w3.org/2000/svg" width="{{.W}}" height="20" role="img" aria-label="{{.Label}}: {{.Message}}">` +
		`<title>{{.Label}}: {{.Message}}</title>` +
		`<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>` +
		`<clipPath id="r"><rect width="{{.W}}" height="20" rx="3" fill="#fff"/></clipPath>` +
		`<g clip-path="url(#r)"><rect width="{{.LW}}" height="20" fill="#555"/><rect x="{{.LW}}" width="{{.MW}}" height="20" fill="{{.Color}}"/><rect width="{{.W}}" height="20" fill="url(#s)"/></g>` +
		`<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="110">` +
		`<text aria-hidden="true" x="{{.LX}}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="{{.LT}}">{{.Label}}</text>` +
		`<text x="{{.LX}}" y="140" transform="scale(.1)" fill="#fff" textLength="{{.LT}}">{{.Label}}</text>` +
		`<text aria-hidden="true" x="{{.MX}}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="{{.MT}}">{{.Message}}</text>` +
		`<text x="{{.MX}}" y="140" transform="scale(.1)" fill="#fff" textLength="{{.MT}}">{{.Message}}</text>` +
		`</g></svg>` + "\n"))

func badgeSVG(label, message, color string) []byte {
	lt, mt := textWidth(label), textWidth(message)
	const pad = 10 // 5 px each side
	lw, mw := lt+pad, mt+pad
	var buf bytes.Buffer
	err := badgeTemplate.Execute(&buf, map[string]any{
		"Label": label, "Message": message, "Color": color,
		"W": lw + mw, "LW": lw, "MW": mw,
		"LX": lw * 10 / 2, "LT": lt * 10,
		"MX": lw*10 + mw*10/2, "MT": mt * 10,
	})
	if err != nil {
		panic(err) // the template and its data are fixed: a failure is a bug
	}
	return buf.Bytes()
}
