// Package deployments holds the container images, the Kubernetes manifests
// and (at the repository root) the docker-compose.yml that run stickerd on
// real infrastructure. It has no Go code of its own: its tests load those
// files with the same libraries Docker Compose and Kubernetes use, strictly,
// and check the wiring between them (every process reaches all etcd members
// and Kafka, probes hit /readyz and /healthz, selectors match, ports do not
// clash). See README.md in this folder.
package deployments
