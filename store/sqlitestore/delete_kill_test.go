//go:build unix

package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/internal/record"
)

// The environment of the process TestDeleteFileSurvivesAKill kills: the store's directory and the
// file to delete.
const (
	killDirEnv  = "SQLITESTORE_KILL_DIR"
	killFileEnv = "SQLITESTORE_KILL_FILE"
)

// TestDeleteFileSurvivesAKill runs DeleteFile in a child process (this test binary again) whose
// background remover is stopped, and which kills itself with SIGKILL as soon as DeleteFile has
// answered: a crash between the commit and the removal of the part files, every time. The part
// files are then still on the disk. Opening the store removes them (no part row owns them), the
// deletion holds, the next sweep marks the upload released and counts no byte (Open freed them,
// and the upload was completed, not expired), and the other File is whole.
func TestDeleteFileSurvivesAKill(t *testing.T) {
	if dir := os.Getenv(killDirEnv); dir != "" {
		deleteAndDie(t, dir, os.Getenv(killFileEnv))
		return
	}
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	u := mustCreate(t, s, 6)
	p1, p2 := mustAddPart(t, s, u.ID, "abc"), mustAddPart(t, s, u.ID, "def")
	f := mustComplete(t, s, u.ID, p1.ID, p2.ID)
	keep := mustCreate(t, s, 3)
	kf := mustComplete(t, s, keep.ID, mustAddPart(t, s, keep.ID, "kee").ID)
	uploadDir := s.uploadDir(u.ID)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestDeleteFileSurvivesAKill$", "-test.count=1")
	cmd.Env = append(os.Environ(), killDirEnv+"="+dir, killFileEnv+"="+f.ID)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the child process was not killed: %v\n%s", err, out)
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the child process ended with %v, want killed by SIGKILL\n%s", err, out)
	}
	if !strings.Contains(string(out), "answered "+f.ID) {
		t.Fatalf("the child process died before DeleteFile answered:\n%s", out)
	}
	if got := filesUnder(t, uploadDir); !sameIDs(got, p1, p2) {
		t.Fatalf("after the kill, part files %v, want both (the kill came before their removal)", got)
	}

	s = openTemp(t, dir)
	if exists(t, uploadDir) {
		t.Errorf("after reopening, the deleted file's part files remain: %v", filesUnder(t, uploadDir))
	}
	if _, err := s.GetFile(ctx, owner, f.ID, t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetFile after reopening: %v, want ErrNotFound (the answered delete holds)", err)
	}
	if got, err := s.GetUpload(ctx, owner, u.ID, t0); err != nil || got.Status != store.StatusCompleted {
		t.Errorf("the deleted file's upload after reopening: %+v, %v; want completed", got, err)
	}
	if st := bytesState(t, s, u.ID); st == record.BytesLive {
		t.Errorf("after reopening, the upload's bytes are live, want releasing or released")
	}
	if n, err := s.SweepExpired(ctx, t0); err != nil || n != (store.SweepResult{}) {
		t.Errorf("SweepExpired = %+v, %v; want nothing counted (Open removed the files)", n, err)
	}
	if st := bytesState(t, s, u.ID); st != record.BytesReleased {
		t.Errorf("bytes state after the sweep = %d, want released", st)
	}
	if got := mustRead(t, s, kf.ID); got != "kee" {
		t.Errorf("the other file holds %q, want %q", got, "kee")
	}
	if _, err := s.DeleteFile(ctx, owner, f.ID, t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteFile again: %v, want ErrNotFound", err)
	}
}

// deleteAndDie is the child of TestDeleteFileSurvivesAKill: it opens the store in dir, stops the
// remover, deletes fileID, says so, and kills itself.
func deleteAndDie(t *testing.T, dir, fileID string) {
	ctx := context.Background()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	s.stopRemover() // the kill comes before it could run
	if _, err := s.DeleteFile(ctx, owner, fileID, t0); err != nil {
		t.Fatalf("DeleteFile: %v", err)
	}
	fmt.Println("answered " + fileID)
	if err := syscall.Kill(os.Getpid(), syscall.SIGKILL); err != nil {
		t.Fatalf("kill: %v", err)
	}
	select {} // the signal ends the process
}
