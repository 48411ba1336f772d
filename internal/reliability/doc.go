// Package reliability checks that the reference server and the client keep their promises when
// things go wrong: hostile requests, random input, a server killed in the middle of its work, many
// clients at once, and a network or server that misbehaves. The package holds tests only; see
// RELIABILITY.md at the root of the module for what they try and how to run each of them.
package reliability
