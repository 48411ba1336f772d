package uploads

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestEveryErrorShapeIsAnAPIError(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        []byte
		want        APIError
		wantText    []string
		is          func(error) bool
	}{
		{
			name: "recorded 400 with an extra key", status: 400, contentType: "application/json",
			body: fixture(t, "error-400-bad-purpose.json"),
			want: APIError{StatusCode: 400, Type: "invalid_request_error", Param: "purpose",
				Message: "'world_domination' is not one of ['fine-tune', 'assistants', 'batch', 'user_data', 'vision', 'evals'] - 'purpose'"},
			wantText: []string{"cancel upload upload_abc: 400 Bad Request: 'world_domination'", "param purpose", "request req_test"},
		},
		{
			name: "recorded 401", status: 401, contentType: "application/json", body: fixture(t, "error-401-bad-key.json"),
			want:     APIError{StatusCode: 401, Type: "invalid_request_error", Code: "invalid_api_key"},
			wantText: []string{"401 Unauthorized: Incorrect API key", "code invalid_api_key"},
			is:       IsUnauthorized,
		},
		{
			name: "recorded 404", status: 404, contentType: "application/json", body: fixture(t, "error-404-not-found.json"),
			want:     APIError{StatusCode: 404, Type: "invalid_request_error", Code: "not_found", Param: "completion_id"},
			wantText: []string{"404 Not Found", "code not_found"},
			is:       IsNotFound,
		},
		{
			name: "429 after the retries", status: 429, contentType: "application/json",
			body:     []byte(`{"error":{"message":"Rate limit reached.","type":"requests","param":null,"code":"rate_limit_exceeded"}}`),
			want:     APIError{StatusCode: 429, Type: "requests", Code: "rate_limit_exceeded", Message: "Rate limit reached."},
			wantText: []string{"429 Too Many Requests: Rate limit reached.", "gave up after 3 attempts"},
			is:       IsRateLimited,
		},
		{
			name: "HTML from a proxy", status: 500, contentType: "text/html",
			body:     []byte("<html>\n<body><h1>502 Bad Gateway</h1>\n</body></html>\n"),
			want:     APIError{StatusCode: 500, Message: "<html> <body><h1>502 Bad Gateway</h1> </body></html>"},
			wantText: []string{"cancel upload upload_abc: 500 Internal Server Error: <html> <body><h1>502 Bad Gateway</h1>"},
		},
		{
			name: "empty body", status: 401, contentType: "application/json",
			want:     APIError{StatusCode: 401},
			wantText: []string{"cancel upload upload_abc: 401 Unauthorized"},
			is:       IsUnauthorized,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				w.Header().Set("x-request-id", "req_test")
				w.WriteHeader(tt.status)
				w.Write(tt.body)
			})
			// The HTML and empty bodies break the spec on purpose: the client must cope anyway.
			c, _ := newTestClient(t, f, specReport(t, "Content-Type", "failed to decode response body"))
			_, err := c.Cancel(t.Context(), "upload_abc")
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("Cancel: got %T %v, want an *APIError", err, err)
			}
			if apiErr.StatusCode != tt.want.StatusCode || apiErr.Type != tt.want.Type || apiErr.Code != tt.want.Code ||
				apiErr.Param != tt.want.Param || (tt.want.Message != "" && apiErr.Message != tt.want.Message) {
				t.Errorf("APIError = %+v, want %+v", apiErr, tt.want)
			}
			if apiErr.RequestID != "req_test" || apiErr.Header.Get("Content-Type") != tt.contentType || string(apiErr.Body) != string(tt.body) {
				t.Errorf("APIError request id %q, header %v, body %q", apiErr.RequestID, apiErr.Header, apiErr.Body)
			}
			if apiErr.Operation != "cancel upload upload_abc" {
				t.Errorf("Operation = %q", apiErr.Operation)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			for _, is := range []func(error) bool{IsNotFound, IsUnauthorized, IsRateLimited} {
				want := tt.is != nil && funcName(is) == funcName(tt.is)
				if is(err) != want {
					t.Errorf("%s(err) = %v, want %v", funcName(is), !want, want)
				}
			}
		})
	}
}

func funcName(f func(error) bool) string {
	switch {
	case f(&APIError{StatusCode: 404}):
		return "IsNotFound"
	case f(&APIError{StatusCode: 401}):
		return "IsUnauthorized"
	case f(&APIError{StatusCode: 429}):
		return "IsRateLimited"
	}
	return "?"
}

func TestTransportErrorsAreWrapped(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	clearEnv(t)
	hc := &http.Client{Transport: validator(t).RoundTripper(nil, specReport(t))}
	c, err := NewClient(WithAPIKey(testKey), WithBaseURL("http://"+addr+"/v1"), WithHTTPClient(hc), WithMaxRetries(1))
	if err != nil {
		t.Fatal(err)
	}
	rec := &sleepRecorder{}
	c.sleep = rec.sleep
	_, err = c.Cancel(t.Context(), "upload_abc")
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Fatalf("Cancel against a closed port: got %v, want a wrapped *net.OpError", err)
	}
	if !strings.HasPrefix(err.Error(), "cancel upload upload_abc: ") || !strings.Contains(err.Error(), "gave up after 2 attempts") {
		t.Errorf("error %q does not say what was done and how often", err)
	}
	if len(rec.recorded()) != 1 {
		t.Errorf("waited %d times, want 1", len(rec.recorded()))
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		t.Errorf("a transport error is not an APIError")
	}
}

func TestNonJSONSuccessIsAnError(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html>captive portal</html>"))
	})
	c, _ := newTestClient(t, f, specReport(t, "Content-Type"))
	_, err := c.Cancel(t.Context(), "upload_abc")
	if err == nil || !strings.Contains(err.Error(), "decode the answer") || !strings.Contains(err.Error(), "captive portal") {
		t.Fatalf("Cancel: got %v, want a decode error quoting the body", err)
	}
}
