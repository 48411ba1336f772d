package uploads_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/uploadkit/uploads"
	"github.com/uploadkit/uploads/server"
	"github.com/uploadkit/uploads/store/sqlitestore"
)

// exampleKey is the API key the examples' local server accepts.
const exampleKey = "sk-example-0123456789abcdef"

// startExampleAPI serves the reference server of this module on loopback, over a store in a
// temporary directory, and returns its base URL and a function that stops it.
func startExampleAPI() (baseURL string, stop func()) {
	dir, err := os.MkdirTemp("", "uploads-example-")
	if err != nil {
		log.Fatal(err)
	}
	st, err := sqlitestore.Open(context.Background(), dir)
	if err != nil {
		log.Fatal(err)
	}
	srv, err := server.New(server.Config{
		Store:         st,
		APIKeys:       []string{exampleKey},
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		SweepInterval: -1,
	})
	if err != nil {
		log.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	return hs.URL + "/v1", func() {
		hs.Close()
		srv.Close()
		st.Close()
		os.RemoveAll(dir)
	}
}

func ExampleNewClient() {
	baseURL, stop := startExampleAPI()
	defer stop()

	// Without options, the client reads OPENAI_API_KEY and OPENAI_BASE_URL (default
	// https://api.openai.com/v1) from the environment; options override them.
	client, err := uploads.NewClient(
		uploads.WithBaseURL(baseURL),
		uploads.WithAPIKey(exampleKey),
		uploads.WithMaxRetries(3),
	)
	if err != nil {
		log.Fatal(err)
	}
	up, err := client.Create(context.Background(), uploads.CreateParams{
		Filename: "train.jsonl",
		Purpose:  uploads.PurposeFineTune,
		Bytes:    2048,
		MIMEType: "text/jsonl",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(up.Status, up.Bytes, up.Filename)
	// Output: pending 2048 train.jsonl
}

func ExampleClient_Cancel() {
	baseURL, stop := startExampleAPI()
	defer stop()
	client, err := uploads.NewClient(uploads.WithBaseURL(baseURL), uploads.WithAPIKey(exampleKey))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	up, err := client.Create(ctx, uploads.CreateParams{
		Filename: "notes.txt", Purpose: uploads.PurposeAssistants, Bytes: 100, MIMEType: "text/plain",
	})
	if err != nil {
		log.Fatal(err)
	}

	cancelled, err := client.Cancel(ctx, up.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cancelled.Status)

	// A part added to a cancelled upload is refused with an *uploads.APIError.
	_, err = client.AddPart(ctx, up.ID, strings.NewReader("too late"))
	fmt.Println(err != nil)

	// An unknown upload is a 404.
	_, err = client.Cancel(ctx, "upload_unknown")
	fmt.Println(uploads.IsNotFound(err))
	// Output:
	// cancelled
	// true
	// true
}

func ExampleClient_UploadFile() {
	baseURL, stop := startExampleAPI()
	defer stop()
	client, err := uploads.NewClient(uploads.WithBaseURL(baseURL), uploads.WithAPIKey(exampleKey))
	if err != nil {
		log.Fatal(err)
	}

	dir, err := os.MkdirTemp("", "example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "train.jsonl")
	line := `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}` + "\n"
	if err := os.WriteFile(path, []byte(strings.Repeat(line, 1000)), 0o644); err != nil {
		log.Fatal(err)
	}

	up, err := client.UploadFile(context.Background(), path, uploads.UploadFileParams{
		Purpose:  uploads.PurposeFineTune,
		PartSize: 16 << 10, // small parts to show several of them; the default is 64 MiB
		MD5:      true,
		Progress: func(p uploads.Progress) {
			if p.PartsDone == p.Parts && p.Sent == p.Total {
				fmt.Printf("sent %d bytes in %d parts\n", p.Sent, p.Parts)
			}
		},
	})
	if err != nil {
		log.Fatal(err) // an *uploads.UploadError says what became of the upload (its Status)
	}
	fmt.Println(up.Status, up.File.Filename, up.File.Bytes)
	// Output:
	// sent 85000 bytes in 6 parts
	// completed train.jsonl 85000
}

func ExampleClient_ListFiles() {
	baseURL, stop := startExampleAPI()
	defer stop()
	client, err := uploads.NewClient(uploads.WithBaseURL(baseURL), uploads.WithAPIKey(exampleKey))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	for _, name := range []string{"a.jsonl", "b.jsonl", "c.jsonl"} {
		if _, err := client.UploadReaderAt(ctx, strings.NewReader("{}\n"), 3, uploads.UploadFileParams{
			Filename: name, Purpose: uploads.PurposeBatch,
		}); err != nil {
			log.Fatal(err)
		}
	}

	// The loop asks for each page when it reaches it (one File per page here, to show the paging;
	// by default a page holds up to 10,000), following the cursor until no page is left.
	n := 0
	for f, err := range client.ListFiles(ctx, uploads.ListFilesParams{Purpose: uploads.PurposeBatch, Limit: 1, Order: uploads.ListOrderAsc}) {
		if err != nil {
			log.Fatal(err)
		}
		if n == 0 {
			if _, err := client.DeleteFile(ctx, f.ID); err != nil {
				log.Fatal(err)
			}
		}
		n++
	}
	fmt.Println(n, "Files listed")
	left := 0
	for _, err := range client.ListFiles(ctx, uploads.ListFilesParams{}) {
		if err != nil {
			log.Fatal(err)
		}
		left++
	}
	fmt.Println(left, "left after one was deleted")
	// Output:
	// 3 Files listed
	// 2 left after one was deleted
}

// Complete and Cancel are not idempotent, yet retried. When an attempt's answer is lost and the
// retry is refused because that attempt did the work, the client says so, apart from a refusal.
func ExampleClient_Complete_lostAnswer() {
	client, err := uploads.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	up, err := client.Complete(ctx, "upload_abc123", uploads.CompleteParams{PartIDs: []string{"part_1", "part_2"}})
	var refused *uploads.APIError
	switch {
	case errors.Is(err, uploads.ErrCompletedEarlier):
		// Completed by an attempt whose answer was lost: the File exists (see ListFiles), and
		// uploading again would make a second one.
		fmt.Println("completed")
	case errors.As(err, &refused):
		fmt.Println("refused:", refused.Message) // a first attempt refused, for whatever reason
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println(up.Status, up.File.ID)
	}
}
