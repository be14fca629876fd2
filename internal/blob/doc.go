// Package blob stores rendered outputs and uploaded assets by key. Dir keeps
// them in a local folder (a shared volume in a cluster); the Store interface
// is what callers need, so an S3-compatible store can take its place.
package blob
