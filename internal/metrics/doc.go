// Package metrics defines every Prometheus metric stickerd exports, in one
// place, so names, units and label sets stay consistent across services and
// the dashboards and alert rules under monitoring/ can be checked against
// them (TestDashboards_NameExportedMetrics). Label sets are bounded: codes
// come from the error taxonomy, routes are templates, workers are few.
package metrics
