// Package wiring wires the offline pipeline in one process: an embedded
// etcd member (or an external cluster), the embedded Kafka broker (or
// external brokers), scheduler replicas with their gRPC servers, render
// workers, the blob store and the submitter. `stickerd dev`, the pipeline
// tests and the pipeline benchmark all start from here.
package wiring
