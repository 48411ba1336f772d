//go:build race

package server_test

// raceEnabled is true when the tests run under the race detector, which makes moving 128 MiB
// through the multipart parser take tens of seconds.
const raceEnabled = true
