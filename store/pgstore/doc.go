// Package pgstore is the networked store.Store: metadata in PostgreSQL, part bytes in an
// S3-compatible bucket. Any number of server replicas may share one database and one bucket; they
// keep no state of their own.
//
// # Correctness across replicas
//
// Every change of an upload's state runs in a transaction holding a lock on the upload's row:
// complete takes it FOR UPDATE, cancel is one conditional UPDATE (which takes the same lock), and
// recording a part takes it FOR SHARE (so parts of
// one upload are recorded side by side, but never while the state changes). A cancel on one
// replica racing a complete on another therefore has exactly one winner, and the loser sees the
// winner's status as a *store.StateError.
//
// # Bytes
//
// Each part is one object, parts/<upload id>/<part id>.<random>, written before its row is
// committed; a file is its parts by reference, streamed in the order given at completion, so
// completing copies no byte. The random suffix keeps a reused part id from overwriting a recorded
// part's object. A note in part_writes is written before the object and removed in the
// transaction that records the part: if the process dies between the two, the sweeper finds the
// note once the part can no longer be recorded and deletes the object. Cancelling an upload
// deletes its parts' objects before the answer; completing one marks the upload releasing when
// the file leaves parts out, and a background remover deletes those parts' objects after the
// answer. Both are finished by the sweeper if they fail or the process stops first.
//
// A part larger than one 8 MiB buffer is written as an S3 multipart upload of 8 MiB chunks read
// into two buffers in turn (one is sent while the next chunk is read into the other), aborted if
// the write fails. A writer that dies leaves the multipart upload
// unfinished; the sweeper aborts it with the rest of the write's leftovers, and aborts any
// unfinished multipart upload older than the writes' grace period that has no note.
//
// # Why not S3 multipart uploads
//
// Mapping an Upload onto an S3 multipart upload (create, part, complete, cancel onto create,
// upload part, complete, abort) would let the bucket assemble the file, but S3 cannot express
// three things the Uploads API allows, and TestS3MultipartCannotCarryTheUploadsLifecycle shows
// a real S3 server refusing each:
//
//   - Part sizes. Every S3 part but the last must be at least 5 MiB (EntityTooSmall); an Upload's
//     parts may be of any size, and clients do send small ones.
//   - Part order. An S3 part's position is the part number fixed when it is sent, and completion
//     must list parts in that order (InvalidPartOrder); an Upload's parts arrive in parallel, in
//     any order, and part_ids at completion decides the order.
//   - Checking before committing. Complete must verify the MD5 and the total size and be able to
//     refuse, leaving the upload pending; the parts of an unfinished S3 multipart upload cannot be
//     read (NoSuchKey), and completing it cannot be undone.
//
// Working around these (copying every part server-side into a second multipart upload at
// completion) would still fail on parts under 5 MiB and would copy the whole file on every
// complete. One object per part has none of these limits, and completing is a metadata change.
//
// # Queries
//
// No request runs a query per part: a completion reads its parts with one query (id = ANY) and
// records the file's parts with one INSERT ... SELECT unnest; objects are deleted in multi-object
// requests. Statements are prepared once per connection and cached by pgx (its default
// QueryExecModeCacheStatement), so a request pays for neither parsing nor planning. Requests take
// one round trip (create, cancel) or a few (a part: the check, the note, then the recording
// transaction; a completion: the checks, then its transaction).
//
// # Schema
//
// Migrations are the SQL files in migrations/, applied by Open in one transaction under an
// advisory lock, so replicas starting together take turns and the later ones find nothing to do.
// A database migrated by a newer program is refused.
package pgstore
