//go:build race

package edge_test

// raceEnabled: the race detector keeps shadow memory, so RSS says nothing.
const raceEnabled = true
