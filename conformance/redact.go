package conformance

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Redacted replaces every secret the Recorder finds.
const Redacted = "REDACTED"

// secretHeaders are headers whose values are always secret, whatever they look like.
var secretHeaders = []string{
	"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie",
	"Openai-Organization", "Openai-Project",
}

// secretNameParts make any header or query parameter whose name contains one of them secret.
var secretNameParts = []string{"key", "token", "secret", "password", "passwd", "auth", "credential", "signature", "session", "cookie"}

// keyLike matches values that look like keys or tokens wherever they appear: OpenAI keys (sk-,
// sk-proj-, ...), other prefixed keys, JSON Web Tokens, AWS access key IDs, and credentials after
// an authorization scheme.
var keyLike = regexp.MustCompile(`(?i)\b(?:sk|rk|pk|sess)-[a-z0-9_\-]{8,}` +
	`|\beyJ[a-zA-Z0-9_\-]{8,}(?:\.[a-zA-Z0-9_\-]*)+` +
	`|\bAKIA[0-9A-Z]{16}\b` +
	`|\b(?:bearer|basic|token)\s+\S+`)

// secretName reports whether a header or query parameter of that name carries a secret.
func secretName(name string) bool {
	if slices.ContainsFunc(secretHeaders, func(h string) bool { return strings.EqualFold(h, name) }) {
		return true
	}
	lower := strings.ToLower(name)
	return slices.ContainsFunc(secretNameParts, func(p string) bool { return strings.Contains(lower, p) })
}

// secrets collects the secret values redacted from one exchange, so that the written file can be
// searched for any copy of them that got elsewhere (an echo in a body, an error message).
type secrets struct {
	mu     sync.Mutex
	values []string
}

func (s *secrets) add(v string) {
	v = strings.TrimSpace(v)
	// Too short a value would blank out ordinary text where it occurs by chance.
	if len(v) < 6 || v == Redacted {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.values, v) {
		s.values = append(s.values, v)
	}
}

// redactValue returns what is kept of the value of a header or query parameter named name.
func (s *secrets) redactValue(name, value string) string {
	if secretName(name) {
		s.add(value)
		// Keep the scheme of a credential ("Bearer REDACTED"), so that a recording still shows
		// how the request authenticated, and still passes the spec's security check.
		if f := strings.Fields(value); len(f) == 2 && strings.HasSuffix(strings.ToLower(name), "authorization") {
			s.add(f[1])
			return f[0] + " " + Redacted
		}
		return Redacted
	}
	return keyLike.ReplaceAllStringFunc(value, func(m string) string {
		if f := strings.Fields(m); len(f) == 2 {
			s.add(f[1])
			return f[0] + " " + Redacted
		}
		s.add(m)
		return Redacted
	})
}

// redactHeader returns the headers of h with their secrets redacted, in the exchange format.
func (s *secrets) redactHeader(h http.Header) map[string]HeaderValue {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]HeaderValue, len(h))
	for name, values := range h {
		kept := make(HeaderValue, len(values))
		for i, v := range values {
			kept[i] = s.redactValue(name, v)
		}
		out[http.CanonicalHeaderKey(name)] = kept
	}
	return out
}

// redactPath returns the escaped path and query of u with the secrets of the query redacted.
func (s *secrets) redactPath(u *url.URL) string {
	path := u.EscapedPath()
	if u.RawQuery == "" {
		return path
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		// A query that does not parse cannot be redacted value by value: keep none of it.
		s.add(u.RawQuery)
		return path + "?" + Redacted
	}
	for name, values := range q {
		for i, v := range values {
			values[i] = s.redactValue(name, v)
		}
	}
	return path + "?" + q.Encode()
}

// scrub replaces every copy of a collected secret in data, as it is and as JSON escapes it.
func (s *secrets) scrub(data []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.values {
		data = bytes.ReplaceAll(data, []byte(v), []byte(Redacted))
		if quoted, err := json.Marshal(v); err == nil {
			data = bytes.ReplaceAll(data, quoted[1:len(quoted)-1], []byte(Redacted))
		}
		if escaped := url.QueryEscape(v); escaped != v {
			data = bytes.ReplaceAll(data, []byte(escaped), []byte(Redacted))
		}
	}
	return data
}
