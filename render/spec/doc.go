// Package spec is the sticker spec of docs/api.md ("The render request"):
// the Go model of a render request, a strict parser that rejects unknown
// fields and wrong types with their JSON paths, and the validation of every
// rule of the contract. All problems are collected into one
// errcode.SpecInvalid error, each naming its field.
package spec
