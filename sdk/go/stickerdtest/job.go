package stickerdtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// lookup finds the job of the request's {id}, or answers 404.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) *job {
	s.mu.Lock()
	j := s.jobs[r.PathValue("id")]
	s.mu.Unlock()
	if j == nil {
		Problem(w, http.StatusNotFound, "NOT_FOUND", "no job "+r.PathValue("id"))
	}
	return j
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	j := s.lookup(w, r)
	if j == nil {
		return
	}
	s.mu.Lock()
	if s.cfg.ThrottledGets > 0 {
		s.cfg.ThrottledGets--
		s.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(s.cfg.RetryAfter))
		Problem(w, http.StatusTooManyRequests, "RATE_LIMITED", "slow down")
		return
	}
	s.advance(j)
	v := j.view
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request) {
	j := s.lookup(w, r)
	if j == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if terminal(j.Status) {
		Problem(w, http.StatusConflict, "CONFLICT", "job "+j.ID+" already "+j.Status)
		return
	}
	now := s.clock.Now().UTC()
	j.Status, j.FinishedAt = "canceled", &now
	j.Error = &JobError{Code: "CANCELED", Message: "canceled by the client"}
	close(j.changed)
	j.changed = make(chan struct{})
	writeJSON(w, http.StatusAccepted, j.view)
}

// events streams the job's changes as Server-Sent Events: a status event
// with the job now, then one event per step, ending with the terminal status.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	j := s.lookup(w, r)
	if j == nil {
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	io.WriteString(w, ": events of "+j.ID+"\n\n")
	sent := 0
	send := func(typ string, data any) {
		b, _ := json.Marshal(data)
		fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", sent, typ, b)
		rc.Flush()
		sent++
		s.mu.Lock()
		cut := s.cfg.BreakEventsAfter > 0 && sent >= s.cfg.BreakEventsAfter && !s.brokeEv
		s.brokeEv = s.brokeEv || cut
		s.mu.Unlock()
		if cut {
			panic(http.ErrAbortHandler) // drops the connection mid-stream
		}
	}
	s.mu.Lock()
	v := j.view
	s.mu.Unlock()
	send("status", v)
	for !terminal(v.Status) {
		s.mu.Lock()
		typ := s.advance(j)
		v, wake := j.view, j.changed
		s.mu.Unlock()
		switch typ {
		case "progress":
			send("progress", map[string]any{"id": v.ID, "progress": v.Progress})
		case "status":
			send("status", v)
		default: // held: wait for a cancel
			select {
			case <-wake:
				s.mu.Lock()
				v = j.view
				s.mu.Unlock()
				send("status", v)
			case <-r.Context().Done():
				return
			}
		}
	}
}

func (s *Server) output(w http.ResponseWriter, r *http.Request) {
	j := s.lookup(w, r)
	if j == nil {
		return
	}
	s.mu.Lock()
	v := j.view
	cut := s.cfg.BreakOutputAfter > 0 && !s.brokeOut
	s.brokeOut = s.brokeOut || cut
	s.mu.Unlock()
	if v.Status != "succeeded" {
		Problem(w, http.StatusConflict, "CONFLICT", "job "+v.ID+" is "+v.Status+", the output exists once it succeeded")
		return
	}
	w.Header().Set("Content-Type", map[string]string{"mp4": "video/mp4", "webm": "video/webm",
		"gif": "image/gif", "webp": "image/webp", "png": "image/png", "jpg": "image/jpeg"}[v.Output.Format])
	w.Header().Set("ETag", strconv.Quote(v.ID))
	var out http.ResponseWriter = w
	if cut {
		out = &cutWriter{ResponseWriter: w, left: s.cfg.BreakOutputAfter}
	}
	http.ServeContent(out, r, "", *v.FinishedAt, bytes.NewReader(OutputData(v.ID, s.cfg.OutputBytes)))
}

// OutputData is the content the fake serves as the output of job id.
func OutputData(id string, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ id[len(id)-1]
	}
	return b
}

// cutWriter drops the connection once left bytes were written.
type cutWriter struct {
	http.ResponseWriter
	left int64
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if int64(len(p)) >= c.left {
		c.ResponseWriter.Write(p[:c.left])
		http.NewResponseController(c.ResponseWriter).Flush()
		panic(http.ErrAbortHandler)
	}
	c.left -= int64(len(p))
	return c.ResponseWriter.Write(p)
}
