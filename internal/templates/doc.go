// Package templates is the model of render templates (docs/api.md,
// "Templates"): a render spec whose string values may hold {{name}}
// placeholders, and the typed variables that fill them. It checks a
// template when it is defined (every placeholder declared, every default
// valid, the spec with its defaults a valid render request), binds a
// request's variables to a version (missing, mistyped, out-of-range and
// undeclared variables refused with their field paths), and expands the
// spec on its JSON value tree, once, before the result goes through
// spec.Parse like any render request. A placeholder never survives an
// expansion: values may not hold "{{", and a template may hold "{{" only
// as a placeholder.
//
// Store keeps template versions per tenant; Etcd stores them in etcd
// (transactions, as internal/jobstore does), Memory is its twin for tests,
// and one contract test runs against both.
package templates
