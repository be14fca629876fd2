package etcd

import (
	"context"
	"log/slog"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// etcd (the embedded member and the client) logs through zap. slogCore is
// a zap core that turns each entry into a slog record of the process's
// logger, so etcd's lines are JSON lines like every other one of stickerd:
// same keys (time, level, msg), the process's attributes, and no stack
// traces or caller positions.
type slogCore struct {
	log   *slog.Logger
	level zapcore.LevelEnabler
}

// zapLogger is a zap logger that writes to log at level and above.
func zapLogger(log *slog.Logger, level zapcore.LevelEnabler) *zap.Logger {
	return zap.New(slogCore{log: log, level: level})
}

func (c slogCore) Enabled(l zapcore.Level) bool {
	return c.level.Enabled(l) && c.log.Enabled(context.Background(), slogLevel(l))
}

func (c slogCore) With(fields []zapcore.Field) zapcore.Core {
	return slogCore{log: slog.New(c.log.Handler().WithAttrs(slogAttrs(fields))), level: c.level}
}

func (c slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

// Write logs the entry; its stack (e.Stack) and caller are left out.
func (c slogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	r := slog.NewRecord(e.Time, slogLevel(e.Level), e.Message, 0)
	if e.LoggerName != "" {
		r.AddAttrs(slog.String("logger", e.LoggerName))
	}
	r.AddAttrs(slogAttrs(fields)...)
	return c.log.Handler().Handle(context.Background(), r)
}

func (c slogCore) Sync() error { return nil }

func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l <= zapcore.DebugLevel:
		return slog.LevelDebug
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	}
	return slog.LevelError // error, dpanic, panic, fatal
}

// droppedKeys are zap fields that carry stack traces: zap.Stack's, and
// the %+v form of an error that zap.Error adds for errors that format
// themselves verbosely (github.com/pkg/errors).
var droppedKeys = map[string]bool{"stacktrace": true, "errorVerbose": true}

// slogAttrs converts zap fields, in order, to slog attributes.
func slogAttrs(fields []zapcore.Field) []slog.Attr {
	out := make([]slog.Attr, 0, len(fields))
	for _, f := range fields {
		if f.Type == zapcore.SkipType {
			continue
		}
		enc := zapcore.NewMapObjectEncoder()
		f.AddTo(enc)
		for k, v := range enc.Fields {
			if droppedKeys[k] {
				continue
			}
			if d, ok := v.(time.Duration); ok {
				v = d.String() // "1.5s", as etcd's own encoder writes it
			}
			out = append(out, slog.Any(k, v))
		}
	}
	return out
}
