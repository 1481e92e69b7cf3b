// Package qorgau holds the domain of the Qorgau oversight platform: the
// registry of places of detention and their devices, staff accounts and roles,
// the audit record, and the small error vocabulary every layer speaks.
//
// It imports only the standard library. Storage lives in internal/store, the
// HTTP surfaces in internal/web, and the wiring in cmd/qorgau.
package qorgau

import (
	"errors"
	"fmt"
)

// Error codes. They are few on purpose: each maps to one HTTP status and one
// kind of message in internal/web.
const (
	ECONFLICT     = "conflict"
	EINTERNAL     = "internal"
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	ETOOMANY      = "too_many_requests"
	ETOOLARGE     = "too_large"
	EUNSUPPORTED  = "unsupported_media_type"
	// EMETHOD is a request whose address exists but takes other methods.
	EMETHOD = "method_not_allowed"
	// EUNAVAILABLE is a refusal to retry shortly, as from a standby
	// server while another is the complaint log's sequencer.
	EUNAVAILABLE = "unavailable"
)

// Error is an error with a code from the vocabulary above and a message that
// is safe to show to the person who caused it.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface. It does not expose internal detail.
func (e *Error) Error() string {
	return fmt.Sprintf("qorgau: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of the first *Error in err's chain,
// or a generic message for any other error so that internals never leak.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
