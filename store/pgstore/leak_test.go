package pgstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/pgstore"
	"github.com/uploadkit/uploads/store/pgstore/pgstoretest"
)

// failingReader gives n bytes, then fails with err.
type failingReader struct {
	n   int
	err error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	k := min(len(p), r.n)
	clear(p[:k])
	r.n -= k
	return k, nil
}

// TestFailedStreamedPartLeavesNothing: a part streamed to the bucket whose data breaks off (a
// client gone, or its request cancelled) leaves no object, no unfinished S3 multipart upload and
// no note of its write.
func TestFailedStreamedPartLeavesNothing(t *testing.T) {
	cfg := pgstoretest.Config(t)
	s := pgstoretest.OpenWith(t, cfg)
	broken := errors.New("connection reset")
	for _, tc := range []struct {
		name string
		at   int
	}{
		{"in the second chunk", 12 << 20},
		{"in the third chunk", 20 << 20},
		{"right after the first chunk", 8 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := createUpload(t, s, 64<<20)
			_, err := s.AddPart(context.Background(), owner, u.ID, newPartID(), &failingReader{n: tc.at, err: broken}, store.Limits{MaxPart: 64 << 20}, store.At(t0))
			if !errors.Is(err, broken) {
				t.Fatalf("AddPart: %v, want the reader's error", err)
			}
			assertNothingLeft(t, cfg, u.ID)
		})
	}
	t.Run("cancelled context", func(t *testing.T) {
		u := createUpload(t, s, 64<<20)
		ctx, cancel := context.WithCancel(context.Background())
		r := &cancelAfter{r: &failingReader{n: 64 << 20, err: io.EOF}, n: 12 << 20, cancel: cancel}
		if _, err := s.AddPart(ctx, owner, u.ID, newPartID(), r, store.Limits{MaxPart: 64 << 20}, store.At(t0)); err == nil {
			t.Fatal("AddPart with its context cancelled midway succeeded")
		}
		assertNothingLeft(t, cfg, u.ID)
	})
}

// cancelAfter reads from r and calls cancel once n bytes went through.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	if c.n -= k; c.n <= 0 {
		c.cancel()
	}
	return k, err
}

// assertNothingLeft fails t if the upload has part objects, notes of writes, or the bucket
// unfinished multipart uploads.
func assertNothingLeft(t *testing.T, cfg pgstore.Config, uploadID string) {
	t.Helper()
	if objects := partObjects(pgstoretest.ObjectKeys(t, cfg), uploadID); len(objects) != 0 {
		t.Errorf("objects left: %v", objects)
	}
	if n := pgstoretest.IncompleteMultipartUploads(t, cfg); n != 0 {
		t.Errorf("%d unfinished multipart uploads left", n)
	}
	if n := pgstoretest.QueryInt(t, cfg, `SELECT COUNT(*) FROM part_writes WHERE upload_id = $1`, uploadID); n != 0 {
		t.Errorf("%d notes of writes left", n)
	}
}

// TestSweepAbortsUnfinishedMultipartUploads: the unfinished multipart upload of a writer that
// died mid-part is aborted by the sweep that finds its note stale, and one without a note (its
// note taken by an earlier sweep) once it is older than the writes' grace period.
func TestSweepAbortsUnfinishedMultipartUploads(t *testing.T) {
	cfg := pgstoretest.Config(t)
	s := pgstoretest.OpenWith(t, cfg)
	ctx := context.Background()

	u := createUpload(t, s, 64<<20)
	key := "parts/" + u.ID + "/part_crashed.0000000000000000"
	pgstoretest.PutUnfinishedMultipart(t, cfg, key, 5<<20)
	pgstoretest.Exec(t, cfg, `INSERT INTO part_writes (object_key, upload_id, started_at) VALUES ($1, $2, $3)`,
		cfg.S3Prefix+key, u.ID, t0)
	if _, err := s.SweepExpired(ctx, t0+60); err != nil {
		t.Fatalf("SweepExpired: %v", err)
	}
	if n := pgstoretest.IncompleteMultipartUploads(t, cfg); n != 1 {
		t.Fatalf("%d unfinished multipart uploads after a sweep while the write may still run, want 1", n)
	}
	if _, err := s.Cancel(ctx, owner, u.ID, t0+60); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if _, err := s.SweepExpired(ctx, t0+60); err != nil {
		t.Fatalf("SweepExpired: %v", err)
	}
	assertNothingLeft(t, cfg, u.ID)

	// Without a note: kept while young, aborted once older than the grace period. The S3
	// server dates it with the wall clock, so the sweep's clock is the wall clock here.
	orphan := "parts/" + u.ID + "/part_orphan.0000000000000000"
	pgstoretest.PutUnfinishedMultipart(t, cfg, orphan, 1)
	now := time.Now().Unix()
	if _, err := s.SweepExpired(ctx, now); err != nil {
		t.Fatalf("SweepExpired: %v", err)
	}
	if n := pgstoretest.IncompleteMultipartUploads(t, cfg); n != 1 {
		t.Fatalf("%d unfinished multipart uploads after a sweep within the grace period, want 1", n)
	}
	if _, err := s.SweepExpired(ctx, now+2*3600); err != nil {
		t.Fatalf("SweepExpired: %v", err)
	}
	if n := pgstoretest.IncompleteMultipartUploads(t, cfg); n != 0 {
		t.Errorf("%d unfinished multipart uploads after the grace period, want 0", n)
	}
}

// TestPartsInFlightAreCapped: with one slot, a second part waits, without reading a byte, until
// the first is written; a part whose request ends while it waits gives up having read nothing.
func TestPartsInFlightAreCapped(t *testing.T) {
	cfg := pgstoretest.Config(t)
	cfg.PartsInFlight = 1
	s := pgstoretest.OpenWith(t, cfg)
	u := createUpload(t, s, 10)

	release := make(chan struct{})
	firstReading := make(chan struct{})
	first := &gatedReader{data: []byte("first"), started: firstReading, gate: release}
	firstDone := make(chan error, 1)
	go func() {
		_, err := s.AddPart(context.Background(), owner, u.ID, newPartID(), first, store.Limits{MaxPart: 10}, store.At(t0))
		firstDone <- err
	}()
	<-firstReading

	// A part whose request ends while it waits.
	ctx, cancel := context.WithCancel(context.Background())
	var readWhileWaiting atomic.Bool
	waiting := &probeReader{r: bytes.NewReader([]byte("never")), read: &readWhileWaiting}
	waitDone := make(chan error, 1)
	go func() {
		_, err := s.AddPart(ctx, owner, u.ID, newPartID(), waiting, store.Limits{MaxPart: 10}, store.At(t0))
		waitDone <- err
	}()
	// A part sent meanwhile must not be read before the first ends.
	var secondRead atomic.Bool
	second := &probeReader{r: bytes.NewReader([]byte("again")), read: &secondRead}
	secondDone := make(chan error, 1)
	go func() {
		_, err := s.AddPart(context.Background(), owner, u.ID, newPartID(), second, store.Limits{MaxPart: 10}, store.At(t0))
		secondDone <- err
	}()
	time.Sleep(200 * time.Millisecond) // a chance to misbehave, not a deadline
	cancel()
	if err := <-waitDone; !errors.Is(err, context.Canceled) {
		t.Errorf("AddPart whose context ended while it waited: %v, want context.Canceled", err)
	}
	if readWhileWaiting.Load() {
		t.Error("a part waiting for its turn was read")
	}
	if secondRead.Load() {
		t.Error("a second part was read while the only slot was taken")
	}
	close(release)
	if err := <-firstDone; err != nil {
		t.Errorf("first AddPart: %v", err)
	}
	if err := <-secondDone; err != nil {
		t.Errorf("second AddPart: %v", err)
	}
	if !secondRead.Load() {
		t.Error("the second part was never read")
	}
}

// gatedReader closes started on its first Read and then waits for gate before giving data.
type gatedReader struct {
	data    []byte
	started chan struct{}
	gate    chan struct{}
	once    bool
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if !g.once {
		g.once = true
		close(g.started)
		<-g.gate
	}
	if len(g.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.data)
	g.data = g.data[n:]
	return n, nil
}

// probeReader notes that it was read.
type probeReader struct {
	r    io.Reader
	read *atomic.Bool
}

func (p *probeReader) Read(b []byte) (int, error) {
	p.read.Store(true)
	return p.r.Read(b)
}
