package server

import (
	"crypto/rand"
	"encoding/hex"
)

// Ids are shaped like the live service's: upload_ and part_ followed by 32 hex digits, file-
// followed by 22 letters and digits, and req_ followed by 32 hex digits for request ids. They come
// from crypto/rand, so they cannot be guessed (an id is not a secret, but guessing one should not
// be a way to probe another key's objects).

func randomHex(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails; it aborts the program instead.
	return prefix + hex.EncodeToString(b[:])
}

func newUploadID() string  { return randomHex("upload_") }
func newPartID() string    { return randomHex("part_") }
func newRequestID() string { return randomHex("req_") }

const alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newFileID is "file-" and 22 characters drawn uniformly from alphanumerics.
func newFileID() string {
	const n = 22
	out := make([]byte, 0, len("file-")+n)
	out = append(out, "file-"...)
	var buf [32]byte
	for len(out) < cap(out) {
		_, _ = rand.Read(buf[:])
		for _, b := range buf {
			// 248 = 4*62: rejecting larger bytes keeps every character equally likely.
			if b < 248 && len(out) < cap(out) {
				out = append(out, alphanumerics[int(b)%len(alphanumerics)])
			}
		}
	}
	return string(out)
}
