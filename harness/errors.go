package harness

import (
	"errors"
	"fmt"
)

// SetupError is a problem with the user's input or machine (a missing
// prerequisite, an unreachable cluster, an unknown name) rather than a failure
// of the work itself: fixing it is up to the user, and its message says how.
// gammaconf exits 2 on it.
type SetupError struct{ Err error }

func (e *SetupError) Error() string { return e.Err.Error() }
func (e *SetupError) Unwrap() error { return e.Err }

// Setupf returns a SetupError with a formatted message (%w wraps as in
// fmt.Errorf).
func Setupf(format string, a ...any) error { return &SetupError{fmt.Errorf(format, a...)} }

// IsSetup reports whether err is, or wraps, a SetupError.
func IsSetup(err error) bool {
	var s *SetupError
	return errors.As(err, &s)
}
