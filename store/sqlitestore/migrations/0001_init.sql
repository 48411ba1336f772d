-- Uploads, their parts, and the files completed uploads produce.

CREATE TABLE uploads (
    id                 TEXT    PRIMARY KEY,
    owner              TEXT    NOT NULL,
    filename           TEXT    NOT NULL,
    purpose            TEXT    NOT NULL,
    mime_type          TEXT    NOT NULL,
    bytes              INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    file_expires_after INTEGER NOT NULL,
    status             TEXT    NOT NULL CHECK (status IN ('pending', 'completed', 'cancelled')),
    file_id            TEXT,
    -- What became of the part bytes: 0 live, 1 being released (rows gone, files may remain),
    -- 2 released. Parts are accepted only while it is 0.
    bytes_state        INTEGER NOT NULL DEFAULT 0 CHECK (bytes_state IN (0, 1, 2))
) STRICT;

-- The sweeper looks for uploads whose bytes are still live and that are cancelled or expired.
CREATE INDEX uploads_to_sweep ON uploads (status, expires_at) WHERE bytes_state < 2;

CREATE TABLE parts (
    id         TEXT    PRIMARY KEY,
    upload_id  TEXT    NOT NULL REFERENCES uploads (id),
    size       INTEGER NOT NULL CHECK (size >= 0),
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX parts_by_upload ON parts (upload_id);

CREATE TABLE files (
    id         TEXT    PRIMARY KEY,
    owner      TEXT    NOT NULL,
    upload_id  TEXT    NOT NULL UNIQUE REFERENCES uploads (id),
    filename   TEXT    NOT NULL,
    purpose    TEXT    NOT NULL,
    bytes      INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER
) STRICT;

-- The content of a file: its parts, by reference, in order. The foreign key on part_id keeps a
-- referenced part from ever being deleted.
CREATE TABLE file_parts (
    file_id TEXT    NOT NULL REFERENCES files (id),
    seq     INTEGER NOT NULL,
    part_id TEXT    NOT NULL REFERENCES parts (id),
    PRIMARY KEY (file_id, seq)
) STRICT, WITHOUT ROWID;

CREATE INDEX file_parts_by_part ON file_parts (part_id);
