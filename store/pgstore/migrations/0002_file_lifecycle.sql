-- Deleted and expired files. A file's row outlives it as a tombstone (deleted_at set), so that a
-- listing whose cursor names it still knows where to go on; its parts and their objects are gone.

ALTER TABLE files ADD COLUMN deleted_at bigint;

-- Listing: an owner's files in creation order, ties broken by id; and by purpose.
CREATE INDEX files_by_owner ON files (owner, created_at, id);
CREATE INDEX files_by_owner_purpose ON files (owner, purpose, created_at, id);

-- The sweeper looks for files that expired and still hold their parts.
CREATE INDEX files_to_sweep ON files (expires_at) WHERE deleted_at IS NULL AND expires_at IS NOT NULL;
