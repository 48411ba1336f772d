-- Uploads, their parts, the files completed uploads produce, and part objects being written.
-- Part and file bytes live in the bucket; rows name their objects by key.

CREATE TABLE uploads (
    id                 text     PRIMARY KEY,
    owner              text     NOT NULL,
    filename           text     NOT NULL,
    purpose            text     NOT NULL,
    mime_type          text     NOT NULL,
    bytes              bigint   NOT NULL,
    created_at         bigint   NOT NULL,
    expires_at         bigint   NOT NULL,
    file_expires_after bigint   NOT NULL,
    status             text     NOT NULL CHECK (status IN ('pending', 'completed', 'cancelled')),
    file_id            text,
    -- What became of the part objects no file needs: 0 live (parts are accepted only then),
    -- 1 being released (no part can be added; objects may remain), 2 released.
    bytes_state        smallint NOT NULL DEFAULT 0 CHECK (bytes_state IN (0, 1, 2))
);

-- The sweeper looks for uploads whose bytes are not yet released.
CREATE INDEX uploads_to_sweep ON uploads (expires_at) WHERE bytes_state < 2;

CREATE TABLE parts (
    id         text   PRIMARY KEY,
    upload_id  text   NOT NULL REFERENCES uploads (id),
    size       bigint NOT NULL CHECK (size >= 0),
    created_at bigint NOT NULL,
    object_key text   NOT NULL UNIQUE
);

CREATE INDEX parts_by_upload ON parts (upload_id);

CREATE TABLE files (
    id         text   PRIMARY KEY,
    owner      text   NOT NULL,
    upload_id  text   NOT NULL UNIQUE REFERENCES uploads (id),
    filename   text   NOT NULL,
    purpose    text   NOT NULL,
    bytes      bigint NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint
);

-- The content of a file: its parts, by reference, in order. The foreign key on part_id keeps a
-- referenced part from ever being deleted.
CREATE TABLE file_parts (
    file_id text    NOT NULL REFERENCES files (id),
    seq     integer NOT NULL,
    part_id text    NOT NULL REFERENCES parts (id),
    PRIMARY KEY (file_id, seq)
);

CREATE INDEX file_parts_by_part ON file_parts (part_id);

-- A part object being written: recorded before the first byte goes to the bucket and removed
-- in the transaction that records the part (or once the object is deleted). A row that outlives
-- its upload names an object left by a crash; the sweeper deletes it.
CREATE TABLE part_writes (
    object_key text   PRIMARY KEY,
    upload_id  text   NOT NULL REFERENCES uploads (id),
    started_at bigint NOT NULL
);
