package web

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"qorgau.kz/qorgau"
)

// decodeHeartbeat decodes a heartbeat's JSON body as readJSON would
// (unknown fields and trailing data refused). Agents send a flat object of
// plain strings, integers and booleans, which it reads without reflection
// and with one allocation (the boot id); anything else — escapes, null,
// floats, unknown or repeated keys — goes to encoding/json, so that what is
// accepted and how it is refused do not depend on the shortcut.
func decodeHeartbeat(b []byte, hb *qorgau.Heartbeat) error {
	if fastHeartbeat(b, hb) {
		return nil
	}
	*hb = qorgau.Heartbeat{}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(hb); err != nil {
		return qorgau.Errorf(qorgau.EINVALID, "malformed JSON: %v", err)
	}
	if dec.More() {
		return qorgau.Errorf(qorgau.EINVALID, "malformed JSON: data after the object")
	}
	return nil
}

// fastHeartbeat reads the common form of a heartbeat, and reports false
// for anything it does not read exactly as encoding/json would.
func fastHeartbeat(b []byte, hb *qorgau.Heartbeat) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	var seen uint8
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipSpace(b, i+1) == len(b)
	}
	for {
		key, j, ok := plainString(b, i)
		if !ok {
			return false
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		var bit uint8
		switch string(key) {
		case "boot", "network", "sent":
			v, j, ok := plainString(b, i)
			if !ok {
				return false
			}
			i = j
			switch string(key) {
			case "boot":
				bit, hb.Boot = 1, string(v)
			case "network":
				bit = 2
				switch string(v) {
				case qorgau.NetworkUp:
					hb.Network = qorgau.NetworkUp
				case qorgau.NetworkRestored:
					hb.Network = qorgau.NetworkRestored
				default:
					hb.Network = string(v)
				}
			case "sent":
				var t time.Time
				if t.UnmarshalText(v) != nil { // as encoding/json parses it
					return false
				}
				bit, hb.Sent = 4, t
			}
		case "uptime_seconds", "outbox", "log_size":
			j := i
			if j < len(b) && b[j] == '-' {
				j++
			}
			for j < len(b) && b[j] >= '0' && b[j] <= '9' {
				j++
			}
			if j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E') {
				return false
			}
			n, err := strconv.ParseInt(string(b[i:j]), 10, 64)
			if err != nil || len(b[i:j]) > 1 && (b[i] == '0' || b[i] == '-' && b[i+1] == '0') {
				return false
			}
			i = j
			switch string(key) {
			case "uptime_seconds":
				bit, hb.Uptime = 8, n
			case "outbox":
				if int64(int(n)) != n {
					return false
				}
				bit, hb.Outbox = 16, int(n)
			case "log_size":
				bit, hb.LogSize = 32, n
			}
		case "tamper":
			switch {
			case bytes.HasPrefix(b[i:], []byte("true")):
				hb.Tamper, i = true, i+4
			case bytes.HasPrefix(b[i:], []byte("false")):
				hb.Tamper, i = false, i+5
			default:
				return false
			}
			bit = 64
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		i = skipSpace(b, i)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return skipSpace(b, i+1) == len(b)
		default:
			return false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads a JSON string at b[i] that has no escapes and no
// control or non-ASCII bytes, and returns its contents and the index after
// it.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, 0, false
		}
	}
	return nil, 0, false
}
