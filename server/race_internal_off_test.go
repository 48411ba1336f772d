//go:build !race

package server

// raceDetector is true when the tests run under the race detector.
const raceDetector = false
