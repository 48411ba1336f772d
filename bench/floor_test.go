package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
)

// The floor is what a careful hand-written client does with net/http and encoding/json alone: one
// request, the key in a header, the whole answer read (so the connection is reused) and decoded
// into a plain struct. No retries, no timeouts, no typed errors.

func floorCancel(ctx context.Context, hc *http.Client, base, id string) (*floorUpload, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/uploads/"+url.PathEscape(id)+"/cancel", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+benchKey)
	var up floorUpload
	if err := floorDo(hc, req, &up); err != nil {
		return nil, err
	}
	return &up, nil
}

// floorAddPart streams the multipart form through an io.Pipe, written by a goroutine, as the
// documentation of mime/multipart suggests; the body is sent chunked.
func floorAddPart(ctx context.Context, hc *http.Client, base, id string, data io.Reader) (*floorPart, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, err := mw.CreateFormFile("data", "part")
		if err == nil {
			_, err = io.Copy(fw, data)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/uploads/"+url.PathEscape(id)+"/parts", pr)
	if err != nil {
		pr.CloseWithError(err)
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+benchKey)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var part floorPart
	if err := floorDo(hc, req, &part); err != nil {
		pr.CloseWithError(err)
		return nil, err
	}
	return &part, nil
}

// floorDo sends req and decodes a 200 answer into out.
func floorDo(hc *http.Client, req *http.Request, out any) error {
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %d: %s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	return json.Unmarshal(body, out)
}
