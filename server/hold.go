package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// EndHolds ends every hold of the slow fault, now and from now on: the requests held are served
// at once instead of at the end of Faults.SlowDelay. Call it when the HTTP server begins to shut
// down, so that held requests do not keep Shutdown waiting:
//
//	hs.RegisterOnShutdown(srv.EndHolds)
//
// Close calls it too. It may be called more than once.
func (s *Server) EndHolds() {
	s.endHoldsOnce.Do(func() { close(s.holdsEnded) })
}

// heldBodyInMemory is how much of a held request's body is kept in memory; the rest of a larger
// one (a part) goes to a temporary file, so a hold costs a bounded amount of memory.
const heldBodyInMemory = 1 << 20

// hold serves r after delay. Meanwhile it receives r's body, so that the client leaving is seen
// whatever it sent: net/http notices a connection closed (and cancels the request's context) only
// once the body was read to its end, and a read of the body fails when the client leaves while
// sending it. A client that leaves ends the hold, and the handler never runs. EndHolds ends the
// hold early, and r is then served at once.
func (s *Server) hold(w http.ResponseWriter, r *http.Request, next http.Handler, delay time.Duration) {
	body := &heldBody{}
	defer body.close()
	received := make(chan error, 1)
	hasBody := r.Body != nil && r.Body != http.NoBody
	if hasBody {
		// Up to what the handler would read at most; the handler refuses a larger body itself.
		go func() { received <- body.receive(r.Body, s.maxPart+multipartSlack+1) }()
	} else {
		received <- nil
	}
	timer := time.NewTimer(delay)
	defer timer.Stop()
	// Each is set to nil once the hold is over, so that a closed channel is not selected again
	// while the body is still coming.
	expired, ended := timer.C, (<-chan struct{})(s.holdsEnded)
	waiting, receiving := true, true
	for waiting || receiving {
		select {
		case err := <-received:
			receiving = false
			if body.writeErr != nil {
				s.answerError(w, r, body.writeErr)
				return
			}
			if err != nil {
				// The client left (or failed) while sending its body.
				markDropped(w)
				return
			}
		case <-r.Context().Done():
			// The client left: nothing was done, and there is no one to answer. The body is not
			// read once the handler returned.
			markDropped(w)
			if receiving {
				<-received
			}
			return
		case <-expired:
			waiting, expired, ended = false, nil, nil
		case <-ended:
			waiting, expired, ended = false, nil, nil
		}
	}
	if hasBody {
		rest, err := body.reader()
		if err != nil {
			s.answerError(w, r, err)
			return
		}
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(rest, r.Body), r.Body}
	}
	next.ServeHTTP(w, r)
}

// heldBody is the body of a held request: in memory up to heldBodyInMemory, then in a temporary
// file removed by close.
type heldBody struct {
	mem      bytes.Buffer
	file     *os.File
	writeErr error // the server's own failure to keep the body
}

// receive reads src into b up to limit bytes (the rest, if any, is left in src).
func (b *heldBody) receive(src io.Reader, limit int64) error {
	_, err := io.Copy(b, io.LimitReader(src, limit))
	return err
}

func (b *heldBody) Write(p []byte) (int, error) {
	n, err := b.write(p)
	if err != nil {
		b.writeErr = fmt.Errorf("keep a held body: %w", err)
	}
	return n, err
}

func (b *heldBody) write(p []byte) (int, error) {
	if b.file == nil && b.mem.Len()+len(p) <= heldBodyInMemory {
		return b.mem.Write(p)
	}
	if b.file == nil {
		f, err := os.CreateTemp("", "uploads-held-*")
		if err != nil {
			return 0, err
		}
		b.file = f
		if _, err := b.file.Write(b.mem.Bytes()); err != nil {
			return 0, err
		}
		b.mem = bytes.Buffer{}
	}
	return b.file.Write(p)
}

// reader returns what was received, from its start.
func (b *heldBody) reader() (io.Reader, error) {
	if b.file == nil {
		return &b.mem, nil
	}
	if _, err := b.file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("read a held body back: %w", err)
	}
	return b.file, nil
}

func (b *heldBody) close() {
	if b.file != nil {
		_ = b.file.Close()
		_ = os.Remove(b.file.Name())
	}
}
