package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
)

type ownerKey struct{}

// owner is the owner of the request being served: set by authenticate, so always present in a
// handler.
func owner(ctx context.Context) string {
	o, _ := ctx.Value(ownerKey{}).(string)
	return o
}

// keyDigest is the SHA-256 of an API key. The server keeps only digests of its keys, compares
// digests in constant time, and uses the hex digest as the owner of what a key creates, so no key
// is ever stored or logged.
func keyDigest(key string) [sha256.Size]byte { return sha256.Sum256([]byte(key)) }

// keyring holds the digests of the accepted keys.
type keyring [][sha256.Size]byte

// match reports whether key is one of the accepted keys and, if so, its owner. Every accepted key is
// compared, in constant time, so the time taken says nothing about which keys exist.
func (k keyring) match(key string) (string, bool) {
	d := keyDigest(key)
	found := 0
	for _, want := range k {
		found |= subtle.ConstantTimeCompare(d[:], want[:])
	}
	if found != 1 {
		return "", false
	}
	return hex.EncodeToString(d[:]), true
}

// bearerToken is the token of an "Authorization: Bearer <token>" header, or "".
func bearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// maskKey shows a wrong key the way the live service does, enough to recognise it and no more:
// its first 8 and last 4 characters around asterisks for a long key, 3 characters for a short one.
func maskKey(key string) string {
	const maxStars = 32
	switch n := len(key); {
	case n > 12:
		return key[:8] + strings.Repeat("*", min(n-12, maxStars)) + key[n-4:]
	case n > 4:
		return key[:3] + strings.Repeat("*", n-3)
	default:
		return strings.Repeat("*", n)
	}
}

// authenticate lets a request through only with an accepted key, and records its owner.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := len(r.Header.Values("Authorization")); n > 1 {
			// Which one would count is up to whoever reads the headers: a proxy may check one and
			// this server another. Ambiguous credentials are no credentials.
			writeError(w, &apiError{
				Status: http.StatusUnauthorized,
				Message: fmt.Sprintf("The request has %d Authorization headers. Provide your API key in exactly one "+
					"Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", n),
				Type: typeInvalidRequest,
				Code: codeInvalidAPIKey,
			})
			return
		}
		key := bearerToken(r)
		if key == "" {
			writeError(w, &apiError{
				Status: http.StatusUnauthorized,
				Message: "You didn't provide an API key. You need to provide your API key in an Authorization " +
					"header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
				Type: typeInvalidRequest,
				Code: codeInvalidAPIKey,
			})
			return
		}
		who, ok := s.keys.match(key)
		if !ok {
			writeError(w, &apiError{
				Status: http.StatusUnauthorized,
				Message: "Incorrect API key provided: " + maskKey(key) + ". This server accepts the keys given " +
					"with -api-key or UPLOADS_API_KEYS.",
				Type: typeInvalidRequest,
				Code: codeInvalidAPIKey,
			})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ownerKey{}, who)))
	})
}
