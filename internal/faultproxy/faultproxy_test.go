package faultproxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// target counts the requests it handles and answers each with its path.
func target(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var handled atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		handled.Add(1)
		io.WriteString(w, "done "+r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv, &handled
}

func post(url string) (string, error) {
	resp, err := http.Post(url, "text/plain", strings.NewReader("body"))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestFaults(t *testing.T) {
	tests := []struct {
		fault       Fault
		wantHandled int64 // by the target, of the two requests sent
		wantErr     bool  // for the picked request
	}{
		{LoseAnswer, 2, true},
		{ResetBeforeForward, 1, true},
		{Answer, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			srv, handled := target(t)
			p := Start(srv.URL, Rule{Method: "POST", Path: "/v1/uploads/*/complete", Nth: 2, Fault: tt.fault, Status: 418, Body: "{}"})
			defer p.Close()
			if got, err := post(p.URL + "/v1/uploads/u1/complete"); err != nil || got != "done /v1/uploads/u1/complete" {
				t.Fatalf("first request: %q, %v; want it passed through", got, err)
			}
			if _, err := post(p.URL + "/v1/uploads/u1/parts"); err != nil {
				t.Fatalf("request on another route: %v", err)
			}
			got, err := post(p.URL + "/v1/uploads/u2/complete")
			if (err != nil) != tt.wantErr {
				t.Fatalf("picked request: %q, %v; want an error: %v", got, err, tt.wantErr)
			}
			if h := handled.Load() - 1; h != tt.wantHandled { // less the request on another route
				t.Errorf("the target handled %d requests to the route, want %d", h, tt.wantHandled)
			}
			events := p.Events()
			if len(events) != 1 || events[0].Path != "/v1/uploads/u2/complete" || events[0].Fault != tt.fault {
				t.Fatalf("events = %+v", events)
			}
			if tt.fault == LoseAnswer && string(events[0].Body) != "done /v1/uploads/u2/complete" {
				t.Errorf("the lost answer was recorded as %q", events[0].Body)
			}
		})
	}
}

func TestStallEndsWhenTheClientGivesUp(t *testing.T) {
	srv, handled := target(t)
	p := Start(srv.URL, Rule{Path: "/x", Fault: Stall})
	defer p.Close()
	req, _ := http.NewRequest("GET", p.URL+"/x", nil)
	ctx, cancel := context.WithCancel(context.Background())
	req = req.WithContext(ctx)
	go func() {
		for len(p.Events()) == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("a stalled request got an answer")
	}
	if handled.Load() != 0 {
		t.Error("a stalled request reached the target")
	}
}
