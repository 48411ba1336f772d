//go:build race

package server

// raceDetector is true when the tests run under the race detector, whose shadow memory makes
// moving 64 MiB parts slow and changes what is allocated.
const raceDetector = true
