// Package proto holds stickerd's .proto files; the generated Go code lives
// in its sub-packages (workerpb). `make proto` regenerates it and
// TestGeneratedCodeMatches fails when the checked-in code drifts.
package proto
