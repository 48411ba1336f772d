package bench

import (
	"encoding/json"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/uploadkit/uploads"
)

// BenchmarkDecode decodes the recorded answer of a completed upload, with its File, into a plain
// struct (the floor), into this module's Upload, and into the official SDK's Upload.
func BenchmarkDecode(b *testing.B) { runImpls(b, decodeImpls(b)) }

func decodeImpls(tb testing.TB) []impl {
	body := readRecorded(tb, "complete-200.json")
	const wantFile = "file-RRx32Mws4VZG3ZUnsU6Dvf"

	return []impl{{"floor", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var up floorUpload
			if err := json.Unmarshal(body, &up); err != nil || up.File == nil || up.File.ID != wantFile {
				b.Fatalf("decode = %+v, %v", up, err)
			}
		}
	}}, {"ours", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var up uploads.Upload
			if err := json.Unmarshal(body, &up); err != nil || up.File == nil || up.File.ID != wantFile {
				b.Fatalf("decode = %+v, %v", up, err)
			}
		}
	}}, {"sdk", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var up openai.Upload
			if err := json.Unmarshal(body, &up); err != nil || up.File.ID != wantFile {
				b.Fatalf("decode = %+v, %v", up, err)
			}
		}
	}}}
}
