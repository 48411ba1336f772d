package storetest

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/uploadkit/uploads/store"
)

// addLimited adds data as a part of owner's upload under lim, at now.
func addLimited(s store.Store, owner, uploadID, data string, lim store.Limits, now int64) (store.Part, error) {
	return s.AddPart(context.Background(), owner, uploadID, newPartID(), strings.NewReader(data), lim, store.At(now))
}

// testUploadLimit: the parts of one upload never hold more than Limits.MaxUpload bytes, whatever
// the upload declared; the part that would go past is refused and leaves nothing behind.
func testUploadLimit(t *testing.T, s store.Store) {
	lim := store.Limits{MaxPart: MaxPartSize, MaxUpload: 10}
	u := createUpload(t, s, alice, 1, t0) // declared 1 byte: parts may still reach the limit
	var ids []string
	for _, data := range []string{"abcd", "efgh", "ij"} {
		p, err := addLimited(s, alice, u.ID, data, lim, t0)
		if err != nil {
			t.Fatalf("AddPart(%q) within the limit: %v", data, err)
		}
		ids = append(ids, p.ID)
	}
	for _, data := range []string{"k", ""} {
		_, err := addLimited(s, alice, u.ID, data, lim, t0)
		var full *store.UploadFullError
		if !errors.As(err, &full) {
			t.Fatalf("AddPart(%q) past the limit: %v, want *store.UploadFullError", data, err)
		}
		if full.UploadID != u.ID || full.Stored != 10 || full.Max != 10 {
			t.Errorf("UploadFullError = %+v, want upload %s holding 10 of 10 bytes", full, u.ID)
		}
	}
	// Another upload has a limit of its own.
	other := createUpload(t, s, alice, 10, t0)
	if _, err := addLimited(s, alice, other.ID, "0123456789", lim, t0); err != nil {
		t.Errorf("AddPart to another upload: %v", err)
	}
	// Nothing of the refused parts was recorded: the three parts are all there is.
	_, _, err := s.Complete(context.Background(), alice, u.ID, ids, "", newFileID(), store.At(t0))
	var size *store.SizeError
	if !errors.As(err, &size) || size.Got != 10 {
		t.Errorf("Complete = %v, want a *store.SizeError with 10 bytes of parts", err)
	}

	// Parts sent at once cannot go past it together: of 8 parts of 4 bytes on a limit of 10,
	// exactly 2 are recorded.
	race := createUpload(t, s, alice, 8, t0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for range 8 {
		wg.Go(func() {
			_, err := addLimited(s, alice, race.ID, "abcd", lim, t0)
			var full *store.UploadFullError
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				accepted++
			case !errors.As(err, &full):
				t.Errorf("AddPart at once: %v", err)
			}
		})
	}
	wg.Wait()
	if accepted != 2 {
		t.Errorf("%d parts of 4 bytes accepted at once on a limit of 10 bytes, want 2", accepted)
	}
}

// testQuota: an owner keeps at most Limits.Quota bytes, counting the parts of its uploads that
// are not completed and its files that have not expired; cancelling and expiry give room back,
// and another owner has a quota of its own.
func testQuota(t *testing.T, s store.Store) {
	ctx := context.Background()
	lim := store.Limits{MaxPart: MaxPartSize, Quota: 12}
	a := createUpload(t, s, alice, 4, t0)
	if _, err := addLimited(s, alice, a.ID, "aaaa", lim, t0); err != nil {
		t.Fatalf("AddPart within the quota: %v", err)
	}
	// A completed upload's bytes count as its file, which expires at t0+100+3600.
	fileUpload := newUpload(alice, 4, t0)
	fileUpload.FileExpiresAfter = 3600
	if err := s.CreateUpload(ctx, fileUpload); err != nil {
		t.Fatal(err)
	}
	pf, err := addLimited(s, alice, fileUpload.ID, "ffff", lim, t0)
	if err != nil {
		t.Fatalf("AddPart within the quota: %v", err)
	}
	if _, _, err := s.Complete(ctx, alice, fileUpload.ID, []string{pf.ID}, "", newFileID(), store.At(t0+100)); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	b := createUpload(t, s, alice, 8, t0)
	if _, err := addLimited(s, alice, b.ID, "bbbb", lim, t0); err != nil {
		t.Fatalf("AddPart up to the quota: %v", err)
	}
	// 12 bytes kept: 4 of a, the file's 4, 4 of b.
	for _, data := range []string{"x", ""} {
		_, err := addLimited(s, alice, b.ID, data, lim, t0)
		var qe *store.QuotaError
		if !errors.As(err, &qe) {
			t.Fatalf("AddPart(%q) past the quota: %v, want *store.QuotaError", data, err)
		}
		if qe.Used != 12 || qe.Quota != 12 {
			t.Errorf("QuotaError = %+v, want 12 of 12 bytes used", qe)
		}
	}
	// Bob is not alice.
	bu := createUpload(t, s, bob, 12, t0)
	if _, err := s.AddPart(ctx, bob, bu.ID, newPartID(), strings.NewReader("012345678901"), lim, store.At(t0)); err != nil {
		t.Errorf("AddPart of another owner: %v", err)
	}
	// Cancelling a gives its 4 bytes back.
	if _, err := s.Cancel(ctx, alice, a.ID, t0); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if _, err := addLimited(s, alice, b.ID, "cccc", lim, t0); err != nil {
		t.Errorf("AddPart after a cancel freed room: %v", err)
	}
	// Once the file expires, its bytes no longer count: b's 8 bytes (expired, not yet swept,
	// still kept) and 4 more make 12.
	c := createUpload(t, s, alice, 4, t0+3600)
	if _, err := addLimited(s, alice, c.ID, "eeee", lim, t0+100+3600); err != nil {
		t.Errorf("AddPart once the file expired: %v", err)
	}
}

// clockAt is a settable clock.
type clockAt struct {
	mu sync.Mutex
	t  int64
}

func (c *clockAt) now() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clockAt) set(t int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// expireAtEOF is a part's data that moves the clock to at when its last byte has been read: the
// upload expires while the part streams in.
type expireAtEOF struct {
	r     io.Reader
	clock *clockAt
	at    int64
}

func (e *expireAtEOF) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if errors.Is(err, io.EOF) {
		e.clock.set(e.at)
	}
	return n, err
}

// testExpiryAtCommit: whether the upload is still pending is decided when a part is recorded and
// when a completion commits, at the time the clock reads then, not when the call began.
func testExpiryAtCommit(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := createUpload(t, s, alice, 4, t0)
	p := addPart(t, s, alice, u.ID, "abcd", t0)

	clock := &clockAt{t: u.ExpiresAt - 1}
	data := &expireAtEOF{r: strings.NewReader("late"), clock: clock, at: u.ExpiresAt}
	_, err := s.AddPart(ctx, alice, u.ID, newPartID(), data, store.Limits{MaxPart: MaxPartSize}, clock.now)
	wantStateError(t, err, u.ID, store.StatusExpired)

	// A completion whose clock passes expires_at after the call began (while the MD5 is read).
	calls := 0
	var mu sync.Mutex
	late := func() int64 {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			return u.ExpiresAt - 1
		}
		return u.ExpiresAt
	}
	_, _, err = s.Complete(ctx, alice, u.ID, []string{p.ID}, md5Hex("abcd"), newFileID(), late)
	wantStateError(t, err, u.ID, store.StatusExpired)

	// Nothing changed: a second earlier, the upload completes with its one part, and the File is
	// created at the time of the commit.
	commit := &clockAt{t: u.ExpiresAt - 1}
	done, f, err := s.Complete(ctx, alice, u.ID, []string{p.ID}, md5Hex("abcd"), newFileID(), commit.now)
	if err != nil {
		t.Fatalf("Complete a second before expiry: %v", err)
	}
	if done.Status != store.StatusCompleted || f.CreatedAt != u.ExpiresAt-1 || f.Bytes != 4 {
		t.Errorf("Complete = %+v, %+v", done, f)
	}
}
