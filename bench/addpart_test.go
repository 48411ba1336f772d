package bench

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/uploadkit/uploads"
)

// partSize is the size of the part BenchmarkAddPart sends: the largest the API accepts.
const partSize = uploads.MaxPartSize

// randomPart is size bytes of a fixed pseudo-random sequence.
func randomPart(size int64) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, size)
	for i := 0; i+8 <= len(b); i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// BenchmarkAddPart sends one 64 MiB part over loopback, from the same bytes in memory, by the floor
// (an io.Pipe fed by a mime/multipart.Writer), by this module's client and by the official SDK. The
// server reads the whole body and answers with the recorded part. B/op counts what the client
// allocates, plus the server's share, which is the same for all three (a few KiB).
func BenchmarkAddPart(b *testing.B) { runImpls(b, addPartImpls(b)) }

func addPartImpls(tb testing.TB) []impl {
	srv := cannedServer(tb)
	ctx := context.Background()
	data := randomPart(partSize)
	const wantPart = "part_68cb2a7e21c88191a82274273ca367ef"

	return []impl{{"floor", func(b *testing.B) {
		hc := &http.Client{Transport: newTransport(b)}
		b.ReportAllocs()
		b.SetBytes(partSize)
		for b.Loop() {
			p, err := floorAddPart(ctx, hc, srv.URL+"/v1", uploadID, bytes.NewReader(data))
			if err != nil || p.ID != wantPart {
				b.Fatalf("floor add part = %+v, %v", p, err)
			}
		}
	}}, {"ours", func(b *testing.B) {
		c := ourClient(b, srv)
		b.ReportAllocs()
		b.SetBytes(partSize)
		for b.Loop() {
			p, err := c.AddPart(ctx, uploadID, bytes.NewReader(data))
			if err != nil || p.ID != wantPart {
				b.Fatalf("add part = %+v, %v", p, err)
			}
		}
	}}, {"sdk", func(b *testing.B) {
		c := sdkClient(b, srv)
		b.ReportAllocs()
		b.SetBytes(partSize)
		for b.Loop() {
			p, err := c.Uploads.Parts.New(ctx, uploadID, openai.UploadPartNewParams{Data: bytes.NewReader(data)})
			if err != nil || p.ID != wantPart {
				b.Fatalf("SDK add part = %+v, %v", p, err)
			}
		}
	}}}
}
