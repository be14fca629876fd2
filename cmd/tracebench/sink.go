package main

import (
	"context"
	"net"
	"sync/atomic"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
)

// sink is an OTLP/gRPC trace receiver that counts spans and keeps none:
// the exporters do all their work (encoding, sending) and no backend's
// CPU time is mixed into the measurement.
type sink struct {
	// The generated service requires an embedding; this one opts out of
	// grpc-go's forward compatibility, as sink implements the service's
	// one method (Export, below) and is built with the module it is for.
	collectortrace.UnsafeTraceServiceServer
	addr  string
	srv   *grpc.Server
	spans atomic.Int64
}

func startSink() (*sink, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{addr: lis.Addr().String(), srv: grpc.NewServer()}
	collectortrace.RegisterTraceServiceServer(s.srv, s)
	go s.srv.Serve(lis)
	return s, nil
}

func (s *sink) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	var n int64
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			n += int64(len(ss.GetSpans()))
		}
	}
	s.spans.Add(n)
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func (s *sink) stop() { s.srv.Stop() }
