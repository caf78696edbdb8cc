package semantics

import (
	"fmt"
	"strconv"
	"strings"

	"gamma-conformance/suites/internal/kube"
)

// Checks of a batch of echo client responses.

type check func(kube.Result) error

// batch is the number of requests per exec: enough to catch a wrong split.
const batch = 10

func get(url string) kube.Request { return kube.Request{URL: url, Count: batch} }

func all(checks ...func(i int, code, hostname string, r kube.Result) error) check {
	return func(r kube.Result) error {
		if r.Err != nil {
			return fmt.Errorf("client failed: %v", r.Err)
		}
		if len(r.Responses) == 0 {
			return fmt.Errorf("no response parsed from: %q", r.Stdout)
		}
		for i, resp := range r.Responses {
			for _, c := range checks {
				if err := c(i, resp.Code, resp.Hostname, r); err != nil {
					return fmt.Errorf("response %d of %d: %w", i+1, len(r.Responses), err)
				}
			}
		}
		return nil
	}
}

// servedBy: every request got 200 from a pod of app.
func servedBy(app string) check {
	return all(func(_ int, code, hostname string, _ kube.Result) error {
		if code != "200" {
			return fmt.Errorf("status %s, want 200 from %s", code, app)
		}
		if !strings.HasPrefix(hostname, app+"-") {
			return fmt.Errorf("answered by %q, want a pod of %s", hostname, app)
		}
		return nil
	})
}

// status: every request got this HTTP status.
func status(want int) check {
	return all(func(_ int, code, hostname string, _ kube.Result) error {
		if code != strconv.Itoa(want) {
			return fmt.Errorf("status %s (from %q), want %d", code, hostname, want)
		}
		return nil
	})
}

// header: every response carries header name=value (value "" = absent).
func header(name, value string) check {
	return func(r kube.Result) error {
		if r.Err != nil {
			return fmt.Errorf("client failed: %v", r.Err)
		}
		for i, resp := range r.Responses {
			if got := resp.ResponseHeaders.Get(name); got != value {
				return fmt.Errorf("response %d: header %s=%q, want %q", i+1, name, got, value)
			}
		}
		return nil
	}
}

// both runs every check.
func both(checks ...check) check {
	return func(r kube.Result) error {
		for _, c := range checks {
			if err := c(r); err != nil {
				return err
			}
		}
		return nil
	}
}

// grpcFails: the gRPC call failed with this status code name (e.g.
// "Unavailable"), as the echo client reports it.
func grpcFails(code string) check {
	return func(r kube.Result) error {
		out := r.Stdout + r.Stderr
		if r.Err == nil && !strings.Contains(out, "code = "+code) {
			return fmt.Errorf("gRPC call succeeded, want code %s; output %q", code, strings.TrimSpace(out))
		}
		if !strings.Contains(out, "code = "+code) {
			return fmt.Errorf("gRPC call failed without code %s: %q", code, strings.TrimSpace(out))
		}
		return nil
	}
}

// servedByOneOf: every request got 200 from pods of one of apps (the same
// app for the whole batch): where the specification allows each answer.
func servedByOneOf(apps ...string) check {
	return func(r kube.Result) error {
		var errs []string
		for _, a := range apps {
			err := servedBy(a)(r)
			if err == nil {
				return nil
			}
			errs = append(errs, err.Error())
		}
		return fmt.Errorf("not served by one of %s: %s", strings.Join(apps, ", "), strings.Join(errs, "; "))
	}
}

// notServedBy: no request got 200 from a pod of app (the route did not
// apply). What a Service port with no route answers is the mesh's default
// behaviour (GEP-1294 "Route presence": traffic "should" work as without
// a mesh), so any other answer is allowed.
func notServedBy(app string) check {
	return func(r kube.Result) error {
		for i, resp := range r.Responses {
			if resp.Code == "200" && strings.HasPrefix(resp.Hostname, app+"-") {
				return fmt.Errorf("response %d of %d answered by %q: the route applied", i+1, len(r.Responses), resp.Hostname)
			}
		}
		return nil
	}
}
