package kiosk

import (
	"encoding/json"
	"net"
	"net/http"

	"qorgau.kz/qorgau"
)

// LocalAPI returns the agent's JSON endpoints for the machine it runs on,
// refused to any other: POST /agent/v1/send with a Draft answers a Sent,
// GET /agent/v1/status the agent's Status. They let an engineer or a test
// drive the agent without the screens; qorgau terminal serves them only
// with --agent-api.
func (a *Agent) LocalAPI() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /agent/v1/send", func(w http.ResponseWriter, r *http.Request) {
		var d Draft
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 32<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&d); err != nil {
			localError(w, qorgau.Errorf(qorgau.EINVALID, "malformed draft: %v", err))
			return
		}
		s, err := a.Send(r.Context(), &d)
		if err != nil {
			localError(w, err)
			return
		}
		localJSON(w, http.StatusOK, s)
	})
	mux.HandleFunc("GET /agent/v1/status", func(w http.ResponseWriter, r *http.Request) {
		localJSON(w, http.StatusOK, a.Status())
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			localError(w, qorgau.Errorf(qorgau.EFORBIDDEN, "the agent API answers only this machine"))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func localJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func localError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch qorgau.ErrorCode(err) {
	case qorgau.EINVALID:
		status = http.StatusBadRequest
	case qorgau.EFORBIDDEN:
		status = http.StatusForbidden
	case qorgau.ENOTFOUND:
		status = http.StatusNotFound
	}
	msg := qorgau.ErrorMessage(err)
	if qorgau.ErrorCode(err) == qorgau.EINTERNAL {
		msg = err.Error() // this machine only: say what failed
	}
	localJSON(w, status, map[string]string{"error": qorgau.ErrorCode(err), "message": msg})
}
