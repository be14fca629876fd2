package main

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"

	"github.com/stickerd/stickerd/internal/tracing"
)

// newLogger is the process's logger: JSON lines on w from level up, in
// which every key appears once (see uniqueKeys), and which carry trace_id
// and span_id when logged with a traced context.
func newLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(uniqueKeys{h: tracing.LogHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))})
}

// logLevel is STICKERD_LOG_LEVEL (debug, info, warn, error), info when
// unset or unknown.
func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("STICKERD_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}

// builtinKeys are the keys slog's JSON handler writes itself.
var builtinKeys = []string{slog.TimeKey, slog.LevelKey, slog.MessageKey, slog.SourceKey}

// uniqueKeys makes each key of a line appear once. The process logger
// carries service=COMMAND, and packages that are handed it may add their
// own service (the gateway does, error events' drop warning does): slog's
// JSON handler would write both, and a JSON reader keeps only one of them.
// The first value of a key wins, so service is always the command that
// runs. An attribute named like a key the handler writes itself (msg,
// level, time, source) is written as attr.KEY instead.
type uniqueKeys struct {
	h slog.Handler
	// keys are the keys WithAttrs has set in the innermost open group (the
	// top level when grouped is false).
	keys    map[string]bool
	grouped bool
}

func (u uniqueKeys) Enabled(ctx context.Context, l slog.Level) bool { return u.h.Enabled(ctx, l) }

func (u uniqueKeys) WithAttrs(as []slog.Attr) slog.Handler {
	keys := u.cloneKeys()
	return uniqueKeys{h: u.h.WithAttrs(dedupe(as, keys, !u.grouped)), keys: keys, grouped: u.grouped}
}

// WithGroup opens a group: the keys that follow are nested in it and cannot
// clash with those outside.
func (u uniqueKeys) WithGroup(name string) slog.Handler {
	if name == "" {
		return u
	}
	return uniqueKeys{h: u.h.WithGroup(name), grouped: true}
}

func (u uniqueKeys) Handle(ctx context.Context, r slog.Record) error {
	if r.NumAttrs() == 0 {
		return u.h.Handle(ctx, r)
	}
	as := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool { as = append(as, a); return true })
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	out.AddAttrs(dedupe(as, u.cloneKeys(), !u.grouped)...)
	return u.h.Handle(ctx, out)
}

func (u uniqueKeys) cloneKeys() map[string]bool {
	if u.keys == nil {
		return map[string]bool{}
	}
	return maps.Clone(u.keys)
}

// dedupe returns as without the attributes whose key is in keys or came
// earlier in as, and adds the keys it keeps to keys. A group with an empty
// key is inlined by slog, so its members are checked one by one. At the
// top level, built-in keys are renamed.
func dedupe(as []slog.Attr, keys map[string]bool, top bool) []slog.Attr {
	out := make([]slog.Attr, 0, len(as))
	for _, a := range as {
		if a.Equal(slog.Attr{}) {
			continue
		}
		if a.Key == "" && a.Value.Kind() == slog.KindGroup {
			out = append(out, dedupe(a.Value.Group(), keys, top)...)
			continue
		}
		if top && slices.Contains(builtinKeys, a.Key) {
			a.Key = "attr." + a.Key
		}
		if keys[a.Key] {
			continue
		}
		keys[a.Key] = true
		out = append(out, a)
	}
	return out
}
