package etcd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

// verboseError formats itself with a stack trace under %+v, as
// github.com/pkg/errors does; zap.Error then adds an errorVerbose field.
type verboseError struct{}

func (verboseError) Error() string { return "disk full" }
func (verboseError) Format(s fmt.State, verb rune) {
	s.Write([]byte("disk full\nmain.main\n\t/src/main.go:12"))
}

func TestZapLogger_WritesSlogRecordsWithoutStacks(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})).With("service", "kv")
	lg := zapLogger(log.With("component", "etcd"), zap.WarnLevel).Named("raft").With(zap.String("member", "m0"))
	lg.Info("chatty")                                                       // below warn: dropped
	lg.WithOptions(zap.AddStacktrace(zap.WarnLevel)).Warn("slow fdatasync", // stack asked for: still left out
		zap.Duration("took", 1500*time.Millisecond), zap.Error(verboseError{}), zap.Stack("stacktrace"),
		zap.Strings("peers", []string{"a", "b"}))
	lg.Error("lost leader", zap.Error(errors.New("timeout")))

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %d:\n%s", len(lines), buf.String())
	}
	var warn map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &warn); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"level": "WARN", "msg": "slow fdatasync", "service": "kv", "component": "etcd",
		"logger": "raft", "member": "m0", "took": "1.5s", "error": "disk full", "peers": []any{"a", "b"}}
	for k, v := range want {
		if got, _ := json.Marshal(warn[k]); string(got) != mustJSON(v) {
			t.Errorf("%s = %s, want %s", k, got, mustJSON(v))
		}
	}
	for _, k := range []string{"stacktrace", "errorVerbose", "caller"} {
		if _, ok := warn[k]; ok {
			t.Errorf("line has %s: %s", k, lines[0])
		}
	}
	if !strings.Contains(lines[1], `"level":"ERROR"`) || !strings.Contains(lines[1], `"error":"timeout"`) {
		t.Errorf("error line: %s", lines[1])
	}
}

func TestZapLogger_FollowsTheSlogLevel(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError}))
	lg := zapLogger(log, zap.DebugLevel)
	lg.Warn("hidden by the process's level")
	if buf.Len() != 0 {
		t.Fatalf("logged below the slog level: %s", buf.String())
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
