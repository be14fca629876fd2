package rtc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrClosed is returned by a Session used after Close or disconnection.
var ErrClosed = errors.New("rtc: session closed")

// SignalingError is a signaling request answered outside 2xx, read from
// its application/problem+json body.
type SignalingError struct {
	Status int
	// Code is the contract's error code, e.g. "RTC_NEGOTIATION_FAILED" or
	// "RATE_LIMITED"; empty when the body was not problem+json.
	Code   string
	Detail string
	// RetryAfter is the server's Retry-After, for 429 and 503.
	RetryAfter time.Duration
	Method     string
}

func (e *SignalingError) Error() string {
	s := fmt.Sprintf("rtc: %s: %d", e.Method, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func readSignalingError(method string, resp *http.Response) error {
	e := &SignalingError{Status: resp.StatusCode, Method: method}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		var p struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
			Title  string `json:"title"`
		}
		if json.Unmarshal(body, &p) == nil {
			e.Code, e.Detail = p.Code, p.Detail
			if e.Detail == "" {
				e.Detail = p.Title
			}
		}
	} else {
		e.Detail = strings.TrimSpace(string(body))
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}

// ControlError is the edge's error answer to a control message.
type ControlError struct {
	// ID is the sticker the message named, if any.
	ID string
	// Code is the contract's error code, e.g. "SPEC_INVALID".
	Code    string
	Message string
	// Field is the first invalid field's JSON path ("sticker.x").
	Field string
}

func (e *ControlError) Error() string {
	s := "rtc: " + e.Code
	if e.ID != "" {
		s += " (" + e.ID + ")"
	}
	return s + ": " + e.Message
}
