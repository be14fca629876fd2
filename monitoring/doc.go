// Package monitoring is stickerd's observability as code: the metric
// definitions (metrics), the error taxonomy (errcode), error events
// (errevents) and their consumer (monitor) live in the packages below it,
// and the Prometheus rules, Alertmanager config and Grafana dashboards and
// alert rules in the folders beside them. This package has only tests: they
// check every query in those files against the metrics internal/metrics
// defines and the codes of the taxonomy, and run promtool and amtool on
// them, so a renamed metric or a broken rule fails `go test`.
package monitoring
