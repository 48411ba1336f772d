package bench

import (
	"context"
	"net/http"
	"testing"
)

// BenchmarkCancel is one cancel round trip over loopback (build the request, send it, read and
// decode the answer) by the floor, by this module's client and by the official SDK, against the
// same server answering the same recorded body.
func BenchmarkCancel(b *testing.B) {
	srv := cannedServer(b)
	ctx := context.Background()
	want := "cancelled"

	b.Run("impl=floor", func(b *testing.B) {
		hc := &http.Client{Transport: newTransport()}
		b.ReportAllocs()
		for b.Loop() {
			up, err := floorCancel(ctx, hc, srv.URL+"/v1", uploadID)
			if err != nil || up.Status != want {
				b.Fatalf("floor cancel = %+v, %v", up, err)
			}
		}
	})
	b.Run("impl=ours", func(b *testing.B) {
		c := ourClient(b, srv)
		b.ReportAllocs()
		for b.Loop() {
			up, err := c.Cancel(ctx, uploadID)
			if err != nil || string(up.Status) != want {
				b.Fatalf("cancel = %+v, %v", up, err)
			}
		}
	})
	b.Run("impl=sdk", func(b *testing.B) {
		c := sdkClient(srv)
		b.ReportAllocs()
		for b.Loop() {
			up, err := c.Uploads.Cancel(ctx, uploadID)
			if err != nil || string(up.Status) != want {
				b.Fatalf("SDK cancel = %+v, %v", up, err)
			}
		}
	})
}
