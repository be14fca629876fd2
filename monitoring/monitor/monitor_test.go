package monitor

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/errevents"
	"github.com/stickerd/stickerd/internal/kafkaembed"
	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/internal/queue"
)

// TestRun_CountsEventsFromKafka runs the monitor against the embedded broker:
// services report through a real errevents.Publisher and queue.Producer,
// and the counters move by exactly what was produced.
func TestRun_CountsEventsFromKafka(t *testing.T) {
	broker, err := kafkaembed.Start(kafkaembed.Config{Addr: "127.0.0.1:0", Topics: queue.Topics()})
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(broker.Close)
	brokers := []string{broker.Addr()}

	qcfg := queue.DefaultConfig()
	qcfg.Brokers = brokers
	producer, err := queue.NewProducer(qcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { producer.Close() })

	want := []struct {
		service, code string
		delta         float64
	}{
		{"worker", "FFMPEG_FAILED", 3},
		{"edge", "RTC_MEDIA_FAILED", 1},
		{"scheduler", "CANCELED", 1},
		{"unknown", "INTERNAL", 2}, // a foreign service with a foreign code, and garbage
	}
	before := make([]float64, len(want))
	for i, w := range want {
		before[i] = errorsCount(w.service, w.code)
	}
	dlqBefore := testutil.ToFloat64(metrics.DLQMessages)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Brokers: brokers, LagInterval: 50 * time.Millisecond})
	}()

	pub, err := errevents.NewPublisher(producer, errevents.DefaultConfig("worker"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		pub.Report(ctx, errevents.FromError("worker", errcode.New(errcode.FFmpegFailed, "exit 1"), "job_a", "", "t"))
	}
	pub.Report(ctx, errevents.FromError("edge", errcode.New(errcode.RTCMediaFailed, "vp8"), "", "rtc_1", "t"))
	pub.Report(ctx, errevents.FromError("scheduler", context.Canceled, "job_b", "", "t"))
	pub.Report(ctx, errevents.Event{Service: "billing", Code: "TEAPOT", Message: "foreign"})
	if err := pub.Close(ctx); err != nil {
		t.Fatal(err)
	}
	raw := []queue.Message{
		{Topic: queue.TopicErrors, Key: []byte("x"), Value: []byte("not json")},
		{Topic: queue.TopicDLQ, Key: []byte("job_c"), Value: []byte(`{"id":"job_c"}`)},
		{Topic: queue.TopicDLQ, Key: []byte("job_d"), Value: []byte(`{"id":"job_d"}`)},
	}
	if err := producer.PublishBatch(ctx, raw); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		settled := testutil.ToFloat64(metrics.DLQMessages)-dlqBefore == 2
		for i, w := range want {
			if errorsCount(w.service, w.code)-before[i] != w.delta {
				settled = false
			}
		}
		if settled {
			break
		}
		if time.Now().After(deadline) {
			for i, w := range want {
				t.Errorf("stickerd_errors_total{service=%q,code=%q} += %v, want %v",
					w.service, w.code, errorsCount(w.service, w.code)-before[i], w.delta)
			}
			t.Fatalf("stickerd_dlq_messages_total += %v, want 2", testutil.ToFloat64(metrics.DLQMessages)-dlqBefore)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Everything is committed, so the lag gauges settle at zero.
	for _, topic := range []string{queue.TopicErrors, queue.TopicDLQ} {
		lag := metrics.KafkaConsumerLag.WithLabelValues(DefaultGroup, topic)
		for testutil.ToFloat64(lag) != 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if got := testutil.ToFloat64(lag); got != 0 {
			t.Errorf("lag of %s = %v, want 0", topic, got)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil after ctx end", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after ctx end")
	}
}

func errorsCount(service, code string) float64 {
	return testutil.ToFloat64(metrics.Errors.WithLabelValues(service, code))
}

func TestHandler_HandleError(t *testing.T) {
	tests := []struct {
		name          string
		value         string
		service, code string
	}{
		{"typed", `{"service":"worker","code":"FFMPEG_FAILED","job_id":"job_1","session_id":"","tenant":"t","message":"m","time":"2026-01-01T00:00:00Z"}`,
			"worker", "FFMPEG_FAILED"},
		{"minimal", `{"service":"edge","code":"RTC_MEDIA_FAILED"}`, "edge", "RTC_MEDIA_FAILED"},
		{"unknown code", `{"service":"gateway","code":"TEAPOT"}`, "gateway", "INTERNAL"},
		{"unknown service", `{"service":"billing","code":"SPEC_INVALID"}`, "unknown", "SPEC_INVALID"},
		{"no code", `{"service":"gateway"}`, "unknown", "INTERNAL"},
		{"not json", `\x00garbage`, "unknown", "INTERNAL"},
	}
	h := handler{log: slog.New(slog.DiscardHandler)}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := errorsCount(tt.service, tt.code)
			err := h.handleError(context.Background(), queue.Message{Topic: queue.TopicErrors, Value: []byte(tt.value)})
			if err != nil {
				t.Fatalf("handleError = %v; a bad message must not be retried", err)
			}
			if got := errorsCount(tt.service, tt.code) - before; got != 1 {
				t.Fatalf("stickerd_errors_total{service=%q,code=%q} += %v, want 1", tt.service, tt.code, got)
			}
		})
	}
}

func TestHandler_HandleDeadLetter(t *testing.T) {
	h := handler{log: slog.New(slog.DiscardHandler)}
	before := testutil.ToFloat64(metrics.DLQMessages)
	for _, v := range []string{`{"id":"job_1"}`, ``} {
		if err := h.handleDeadLetter(context.Background(), queue.Message{Key: []byte("job_1"), Value: []byte(v)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := testutil.ToFloat64(metrics.DLQMessages) - before; got != 2 {
		t.Fatalf("stickerd_dlq_messages_total += %v, want 2", got)
	}
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"brokers", Config{Brokers: []string{"127.0.0.1:9092"}}, true},
		{"no brokers", Config{}, false},
		{"negative lag interval", Config{Brokers: []string{"b:1"}, LagInterval: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate = %v, want ok=%v", err, tt.ok)
			}
		})
	}
	if err := Run(context.Background(), Config{}); err == nil {
		t.Fatal("Run without brokers succeeded")
	}
}
