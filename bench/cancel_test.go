package bench

import (
	"context"
	"net/http"
	"testing"
)

// BenchmarkCancel is one cancel round trip over loopback (build the request, send it, read and
// decode the answer) by the floor, by this module's client and by the official SDK, against the
// same server answering the same recorded body.
func BenchmarkCancel(b *testing.B) { runImpls(b, cancelImpls(b)) }

func cancelImpls(tb testing.TB) []impl {
	srv := cannedServer(tb)
	ctx := context.Background()
	want := "cancelled"

	return []impl{{"floor", func(b *testing.B) {
		hc := &http.Client{Transport: newTransport(b)}
		b.ReportAllocs()
		for b.Loop() {
			up, err := floorCancel(ctx, hc, srv.URL+"/v1", uploadID)
			if err != nil || up.Status != want {
				b.Fatalf("floor cancel = %+v, %v", up, err)
			}
		}
	}}, {"ours", func(b *testing.B) {
		c := ourClient(b, srv)
		b.ReportAllocs()
		for b.Loop() {
			up, err := c.Cancel(ctx, uploadID)
			if err != nil || string(up.Status) != want {
				b.Fatalf("cancel = %+v, %v", up, err)
			}
		}
	}}, {"sdk", func(b *testing.B) {
		c := sdkClient(b, srv)
		b.ReportAllocs()
		for b.Loop() {
			up, err := c.Uploads.Cancel(ctx, uploadID)
			if err != nil || string(up.Status) != want {
				b.Fatalf("SDK cancel = %+v, %v", up, err)
			}
		}
	}}}
}
