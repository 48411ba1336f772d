package reliability

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestSlowClientsAreCutOff sends requests that trickle in, a few bytes at a time, slower than the
// server's read timeouts (short ones, set for the test: cmd/uploads-server has the same settings
// in minutes). Each must be cut off without a 2xx, and leave the store exactly as it was: no
// upload, no part, no temporary file.
func TestSlowClientsAreCutOff(t *testing.T) {
	ts := startServer(t, withTimeouts(200*time.Millisecond, 400*time.Millisecond))
	fx := makeFixtures(t, ts)
	in := openInspector(t, ts.dir)
	before := in.snapshot(t)

	ct, partForm := form(formField{name: "data", filename: "slow.bin", data: []byte(repeatString("slow part ", 400))})
	// Each body takes far longer to trickle in (10 bytes every 50 ms) than the timeouts allow, so
	// that a server late to start its clock still cuts it off: about 1.5 s for the JSON body.
	create := createWith(`,"bytes":3`) + strings.Repeat(" ", 300)
	cases := []struct {
		name string
		head string // sent at once
		body string // trickled
	}{
		{"headers trickle", "", requestHead("POST", ts.URL+"/uploads", "application/json", len(create)) + create},
		{"JSON body trickles", requestHead("POST", ts.URL+"/uploads", "application/json", len(create)), create},
		{"part trickles", requestHead("POST", ts.URL+"/uploads/"+fx.pending+"/parts", ct, len(partForm)), string(partForm)},
		{"part stalls after its first bytes", requestHead("POST", ts.URL+"/uploads/"+fx.pending+"/parts", ct, len(partForm)+1000) + string(partForm[:200]), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			status := trickle(t, ts.URL, c.head, c.body)
			if status/100 == 2 {
				t.Errorf("a request slower than the timeouts got %d", status)
			}
			t.Logf("answer: %s", statusText(status))
		})
	}
	t.Cleanup(func() {
		if d := before.diff(in.snapshot(t)); d != "" {
			t.Errorf("slow requests changed the store:%s", d)
		}
		in.checkInvariants(t, true)
	})
}

// requestHead is the request line and headers of an HTTP/1.1 request with key A.
func requestHead(method, rawURL, contentType string, length int) string {
	u, _ := url.Parse(rawURL)
	return fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		method, u.RequestURI(), u.Host, keyA, contentType, length)
}

// trickle sends head at once, then body ten bytes every 50 ms, until the server answers or closes
// the connection, and returns the status of the answer (0 when there was none). It gives up after
// ten seconds: a server that waits that long has no timeout at all.
func trickle(t *testing.T, base, head, body string) int {
	t.Helper()
	u, _ := url.Parse(base)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	answered := make(chan int, 1)
	go func() {
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	if _, err := conn.Write([]byte(head)); err != nil {
		return <-answered
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for rest := body; ; {
		select {
		case status := <-answered:
			return status
		case <-tick.C:
		}
		if rest == "" {
			continue // all sent, or a stall: wait for the server to give up
		}
		n := min(10, len(rest))
		if _, err := conn.Write([]byte(rest[:n])); err != nil {
			return <-answered
		}
		rest = rest[n:]
	}
}

func statusText(status int) string {
	if status == 0 {
		return "connection closed without an answer"
	}
	return fmt.Sprintf("%d %s", status, strings.ToLower(http.StatusText(status)))
}
