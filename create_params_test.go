package uploads

import (
	"errors"
	"testing"
	"time"
)

// TestCreateParamsBoundaries checks CreateParams at each edge of what the API allows: the edges
// themselves are accepted, one step past them is refused before anything is sent.
func TestCreateParamsBoundaries(t *testing.T) {
	good := CreateParams{Filename: "a.jsonl", Purpose: PurposeBatch, Bytes: 10, MIMEType: "text/jsonl"}
	with := func(change func(*CreateParams)) CreateParams { p := good; change(&p); return p }
	tests := []struct {
		name    string
		p       CreateParams
		param   string // "" when the params are valid
		seconds int64  // expires_after.seconds sent, when valid
	}{
		{"one byte", with(func(p *CreateParams) { p.Bytes = 1 }), "", 0},
		{"no byte", with(func(p *CreateParams) { p.Bytes = 0 }), "bytes", 0},
		{"8 GiB", with(func(p *CreateParams) { p.Bytes = MaxUploadSize }), "", 0},
		{"8 GiB and a byte", with(func(p *CreateParams) { p.Bytes = MaxUploadSize + 1 }), "bytes", 0},
		{"expires after an hour", with(func(p *CreateParams) { p.ExpiresAfter = time.Hour }), "", 3600},
		{"expires a second sooner", with(func(p *CreateParams) { p.ExpiresAfter = time.Hour - time.Second }), "expires after", 0},
		{"expires after 30 days", with(func(p *CreateParams) { p.ExpiresAfter = 30 * 24 * time.Hour }), "", 2592000},
		{"expires a second later", with(func(p *CreateParams) { p.ExpiresAfter = 30*24*time.Hour + time.Second }), "expires after", 0},
		{"expires in part of a second", with(func(p *CreateParams) { p.ExpiresAfter = time.Hour + time.Millisecond }), "expires after", 0},
		{"expires never", with(func(p *CreateParams) { p.ExpiresAfter = 0 }), "", 0},
		{"blank filename", with(func(p *CreateParams) { p.Filename = " " }), "filename", 0},
		{"blank purpose", with(func(p *CreateParams) { p.Purpose = " " }), "purpose", 0},
		{"blank MIME type", with(func(p *CreateParams) { p.MIMEType = "\t" }), "MIME type", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := tt.p.request("create upload")
			if tt.param != "" {
				var ipe *InvalidParamError
				if !errors.As(err, &ipe) || ipe.Param != tt.param {
					t.Fatalf("request: %v, want an InvalidParamError about %s", err, tt.param)
				}
				return
			}
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			if req.Bytes != tt.p.Bytes {
				t.Errorf("bytes = %d, want %d", req.Bytes, tt.p.Bytes)
			}
			switch {
			case tt.seconds == 0 && req.ExpiresAfter != nil:
				t.Errorf("expires_after = %+v, want none", *req.ExpiresAfter)
			case tt.seconds != 0 && (req.ExpiresAfter == nil || req.ExpiresAfter.Seconds != tt.seconds):
				t.Errorf("expires_after = %+v, want %d seconds", req.ExpiresAfter, tt.seconds)
			}
		})
	}
}
