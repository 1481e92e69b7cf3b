package web

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"qorgau.kz/qorgau"
)

// Every value a request carries in its address or form ends up compared
// with, or stored in, text columns. PostgreSQL refuses a NUL byte and bytes
// that are not UTF-8 in text (SQLSTATE 22021), which would make a client's
// mistake a 500; SQLite would store them. So guard refuses both for every
// route, before the handler, and readJSON does for JSON bodies.

// maxFormBody bounds a console form: a reply of seal.MaxReplyText bytes,
// every byte percent-encoded, is 768 KiB.
const maxFormBody = 2 << 20

// hasMediaType reports whether the Content-Type value ct names the media
// type want (lower case), whatever its parameters and the case of its
// letters (RFC 9110 §8.3.1).
func hasMediaType(ct, want string) bool {
	if ct == want {
		return true
	}
	t, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(t), want)
}

// isText reports whether s is UTF-8 without NUL bytes.
func isText(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

// checkInput refuses, with EINVALID, a request whose path, query string or
// form holds something that is not text (isText), or whose query string or
// form does not parse (net/http would drop such pairs silently), and a form
// over maxFormBody with ETOOLARGE.
func checkInput(r *http.Request) error {
	if !isText(r.URL.Path) {
		return qorgau.Errorf(qorgau.EINVALID, "the address holds a NUL byte or bytes that are not UTF-8")
	}
	if r.URL.RawQuery != "" {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return qorgau.Errorf(qorgau.EINVALID, "malformed query string: %v", err)
		}
		if err := textValues("query parameter", q); err != nil {
			return err
		}
	}
	// Every request passes here, a complaint submission too: hasMediaType
	// allocates nothing, where mime.ParseMediaType builds a map.
	if !hasMediaType(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") || r.Body == nil {
		return nil
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return qorgau.Errorf(qorgau.ETOOLARGE, "a form is at most %d bytes", tooBig.Limit)
		}
		return qorgau.Errorf(qorgau.EINVALID, "malformed form: %v", err)
	}
	return textValues("form field", r.PostForm)
}

func textValues(what string, vs url.Values) error {
	for k, list := range vs {
		if !isText(k) {
			return qorgau.Errorf(qorgau.EINVALID, "a %s name holds a NUL byte or bytes that are not UTF-8", what)
		}
		for _, v := range list {
			if !isText(v) {
				return qorgau.Errorf(qorgau.EINVALID, "%s %q holds a NUL byte or bytes that are not UTF-8", what, k)
			}
		}
	}
	return nil
}

// nulText reports whether a string in v, a decoded JSON request, holds a
// NUL byte (encoding/json already turns bytes that are not UTF-8 into
// U+FFFD). Byte slices are data, not text, and are not looked at.
func nulText(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		return strings.IndexByte(v.String(), 0) >= 0
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && nulText(v.Elem())
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return false
		}
		for i := range v.Len() {
			if nulText(v.Index(i)) {
				return true
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if nulText(it.Key()) || nulText(it.Value()) {
				return true
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && nulText(v.Field(i)) {
				return true
			}
		}
	}
	return false
}

// intParam reads the integer query parameter name, def when absent,
// refusing anything outside [lo, hi].
func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, qorgau.Errorf(qorgau.EINVALID, "%s must be a whole number from %d to %d, not %q", name, lo, hi, v)
	}
	return n, nil
}
