// Package bench holds the benchmarks of the client and the server against the official Go SDK and
// against hand-written floors (plain net/http, encoding/json, io.Pipe with mime/multipart), run side
// by side in one process against the same loopback server and bodies. It has no code of its own
// beyond its tests; see BENCHMARKS.md at the root of the module for how to run them and what the
// numbers are.
package bench
