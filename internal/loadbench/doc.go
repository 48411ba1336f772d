// Package loadbench measures the reference server under load: many concurrent clients over
// loopback, on the embedded store and on the networked one (one and two replicas), beside a bare
// handler that answers each request without doing its work (the floor). It has no code of its own
// beyond its test; run it with make bench-server.
package loadbench
