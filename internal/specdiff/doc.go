// Package specdiff guards the evolution of openapi/uploads.yaml: it compares the spec with the
// version at an earlier git ref using oasdiff, prints every change, and fails on a change that
// breaks existing clients unless CHANGELOG.md lists it under "### Breaking" in "## Unreleased".
//
// The package upstream, beside it, compares the spec with the official published document.
package specdiff
