package stickerd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// ErrStreamEnded is returned by Events when the stream closed before the
// job reached a terminal state.
var ErrStreamEnded = errors.New("stickerd: the event stream ended before the job did")

// maxEventBytes bounds one event's data.
const maxEventBytes = 1 << 20

// Events follows GET /v1/renders/{id}/events and calls fn for each event,
// in order. It returns nil once a status event with a terminal state was
// handled, fn's error if fn returns one, ErrStreamEnded if the stream closed
// early, or the error that broke it. It does not reconnect; Wait does.
func (c *Client) Events(ctx context.Context, id JobID, fn func(Event) error) error {
	resp, err := c.send(ctx, request{method: http.MethodGet, path: jobPath(id, "/events"),
		header: http.Header{"Accept": {"text/event-stream"}}, retry: true})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return readEvents(resp.Body, func(ev Event) error {
		if err := fn(ev); err != nil {
			return err
		}
		if ev.Type == "status" && ev.Job != nil && ev.Job.Status.Terminal() {
			return errTerminal
		}
		return nil
	})
}

// errTerminal stops readEvents after the terminal status event.
var errTerminal = errors.New("terminal")

// readEvents parses a text/event-stream (the WHATWG rules that matter
// here: "event:", "data:" and "id:" fields, ":" comments, blank-line
// dispatch) and hands each decoded event to fn.
func readEvents(r io.Reader, fn func(Event) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxEventBytes)
	var typ, id string
	var data bytes.Buffer
	hasData := false
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if hasData {
				ev, err := decodeEvent(typ, id, data.Bytes())
				if err != nil {
					return err
				}
				if err := fn(ev); err != nil {
					if err == errTerminal {
						return nil
					}
					return err
				}
			}
			typ, hasData = "", false
			data.Reset()
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue // a comment, e.g. a keep-alive
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			typ = value
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.WriteString(value)
			hasData = true
		case "id":
			id = value
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("stickerd: reading events: %w", err)
	}
	return ErrStreamEnded
}

// decodeEvent reads an event's data: a job, a {"progress": f} object, or a
// bare number for a progress event.
func decodeEvent(typ, id string, data []byte) (Event, error) {
	if typ == "" {
		typ = "message"
	}
	ev := Event{Type: typ, ID: id, Data: append(json.RawMessage(nil), data...)}
	trimmed := bytes.TrimSpace(data)
	if f, err := strconv.ParseFloat(string(trimmed), 64); err == nil {
		ev.Progress = f
		return ev, nil
	}
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return ev, nil // not ours to read; fn still sees Data
	}
	var j Job
	if err := json.Unmarshal(trimmed, &j); err != nil {
		return ev, fmt.Errorf("stickerd: %s event: %w", typ, err)
	}
	ev.Progress = j.Progress
	if j.Status != "" { // {"id":…,"progress":…} alone is no whole job
		ev.Job = &j
	}
	return ev, nil
}

// Wait follows the job until it ends and returns it, calling onProgress
// (when not nil) as progress arrives. It listens to the event stream and,
// if the stream breaks, polls GET /v1/renders/{id} every PollInterval. The
// error is nil for any terminal state: check job.Status, or job.Err().
func (c *Client) Wait(ctx context.Context, id JobID, onProgress func(float64)) (*Job, error) {
	var last *Job
	report := func(f float64) {
		if onProgress != nil {
			onProgress(f)
		}
	}
	err := c.Events(ctx, id, func(ev Event) error {
		if ev.Job != nil {
			last = ev.Job
		}
		if ev.Type == "progress" || (ev.Job != nil && ev.Job.Status == StatusRunning) {
			report(ev.Progress)
		}
		return nil
	})
	switch {
	case err == nil && last != nil && last.Status.Terminal():
		if last.Status == StatusSucceeded {
			report(1)
		}
		return last, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	}
	// Whatever broke the stream (a proxy that buffers it, a gateway
	// restart, an endpoint missing), GET tells the rest; a job that is not
	// there answers 404 to it too.
	return c.poll(ctx, id, report)
}

func (c *Client) poll(ctx context.Context, id JobID, report func(float64)) (*Job, error) {
	for {
		j, err := c.GetRender(ctx, id)
		if err != nil {
			return nil, err
		}
		if j.Status == StatusRunning {
			report(j.Progress)
		}
		if j.Status.Terminal() {
			if j.Status == StatusSucceeded {
				report(1)
			}
			return j, nil
		}
		if err := c.wait(ctx, c.pollInterval()); err != nil {
			return nil, err
		}
	}
}
