// Package sqlitestore is the embedded default store.Store: SQLite (modernc.org/sqlite, pure Go,
// WAL mode) for metadata, the filesystem for part bytes, everything under one directory:
//
//	dir/uploads.db               uploads, parts, files, and which parts make each file
//	dir/parts/<upload>/<part>    the bytes of one part, written once, never changed
//
// # Durability
//
// A part is streamed into a temporary file beside its final name, synced, linked into place
// (a link, unlike a rename, can never replace an existing part), and its directory synced; only
// then is it recorded, in a transaction that also checks that the upload is pending, unexpired
// and not being released. If that transaction fails the file is removed. So a recorded part
// always has all its bytes; what a crash can leave is the opposite, bytes without a record, and
// Open removes those. Part rows are deleted before their files (by Cancel, by DeleteFile, by
// SweepExpired, and for parts a completion does not use), never after.
//
// The promise: an answered create, part, completion, cancel or file deletion is on the disk
// (synchronous=FULL: its transaction's commit is synced before the call returns, and a part's
// bytes and directory entry are synced before its record), so it survives the process being
// killed and the machine losing power. What may follow an answer is only the removal of files no
// record needs any more: a cancel, and a file deletion, mark the upload's bytes releasing in their
// one transaction, and a completion lists the parts it leaves out of its file in parts_to_remove
// in its own; the background remover deletes the files after the answer. A crash in between
// leaves the mark, Open removes the files (no part owns them) and the next sweep forgets the mark.
//
// Concurrent cancels share one transaction and its one sync (group commit), each in a savepoint
// of its own; see Cancel. The background remover runs at most every 50 ms (removerPause), so the
// files of a cancelled upload or a deleted file are gone a few tens of milliseconds after the
// answer, and its bookkeeping commit is shared by every cancel and deletion of that time instead
// of following each one.
//
// # Completion by reference
//
// A completed file's content is its parts in part_ids order by reference: the file_parts table
// lists (file, position, part), and OpenFile streams the part files one after another. No byte is
// copied, so completing an 8 GiB upload costs one small transaction rather than writing 8 GiB
// again (and briefly needing twice the space). BenchmarkComplete measures both (go test -bench
// Complete ./store/sqlitestore, four parts, on a 2-core machine with an ext4 disk): by reference a
// completion takes 1 to 4 ms whatever the size, the cost of one synced commit; by copy it takes
// about 15 ms for 16 MiB and 100 ms for 64 MiB, growing with the size at roughly 0.7 to 1 GB/s,
// so about 10 s for an 8 GiB upload, during which the request waits. The price of references is
// that the parts of a completed upload live as long as its file, and that a file is read from as
// many files as it has parts, opened one at a time. The MD5, when asked for, is still computed
// over every byte, once, before the completing transaction.
//
// # Concurrency
//
// All writes go through one connection whose transactions begin IMMEDIATE, so writers queue in Go
// (honouring their contexts) and a "check the state, then change it" transaction cannot be
// interleaved with another: of a Cancel and a Complete racing on one upload, exactly one commits,
// and every state change is also a conditional UPDATE whose affected rows are checked. Reads use
// a separate pool and, thanks to WAL, are not blocked by writes. Part bytes are written outside
// any transaction, so many parts of one upload are written at once; only their short recording
// transactions take turns. A busy timeout covers another process opening the same directory.
//
// The schema is created and migrated at Open from the SQL files embedded from migrations/, the
// version kept in PRAGMA user_version.
package sqlitestore
