//go:build tools

package protocol

// h2spec is built from this module (go build github.com/summerwind/h2spec/cmd/h2spec),
// so that it and its dependencies are pinned in go.sum.
import _ "github.com/summerwind/h2spec/cmd/h2spec"
