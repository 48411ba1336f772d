-- Parts a completion left out of its file. The completing transaction deletes their rows and lists
-- them here; their files are removed after the answer, by the background remover, or by the next
-- sweep if the process stopped first. A row goes once its file is gone.

CREATE TABLE parts_to_remove (
    upload_id TEXT NOT NULL REFERENCES uploads (id),
    part_id   TEXT NOT NULL,
    PRIMARY KEY (upload_id, part_id)
) STRICT, WITHOUT ROWID;
