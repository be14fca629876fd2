package kv

import (
	"sync/atomic"

	"go.etcd.io/etcd/client/pkg/v3/logutil"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// memberLogger is etcd's JSON logger at level, silenced once stopping is
// set: a member being stopped logs every listener it closes as an error
// ("setting up serving from embedded etcd failed"), noise that would hide
// real failures in service logs and test output.
func memberLogger(level string, stopping *atomic.Bool) (func(*embed.Config) error, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, invalid("log_level %q: %v", level, err)
	}
	lg, err := logutil.CreateDefaultZapLogger(lvl)
	if err != nil {
		return nil, err
	}
	lg = lg.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return quietCore{Core: c, stopping: stopping}
	}))
	return embed.NewZapLoggerBuilder(lg), nil
}

type quietCore struct {
	zapcore.Core
	stopping *atomic.Bool
}

func (c quietCore) With(fields []zapcore.Field) zapcore.Core {
	return quietCore{Core: c.Core.With(fields), stopping: c.stopping}
}

func (c quietCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.stopping.Load() && e.Level < zapcore.DPanicLevel {
		return ce
	}
	return c.Core.Check(e, ce)
}
