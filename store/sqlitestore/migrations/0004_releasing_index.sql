-- The uploads whose bytes are being released: the background remover lists them after every
-- cancel and file deletion, so the listing must not read the whole table.

CREATE INDEX uploads_releasing ON uploads (id) WHERE bytes_state = 1;
