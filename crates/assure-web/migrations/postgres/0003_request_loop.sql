-- The request loop: why a request was sent back, the auditor's own reference and criterion for
-- requests imported from their list, and the evidence entries that answer a request.
ALTER TABLE requests ADD COLUMN reason TEXT;
ALTER TABLE requests ADD COLUMN reference TEXT;
ALTER TABLE requests ADD COLUMN criterion TEXT;
CREATE TABLE request_evidence (
    request_id TEXT NOT NULL REFERENCES requests(id),
    seq BIGINT NOT NULL,
    linked_by TEXT NOT NULL REFERENCES users(id),
    linked_at BIGINT NOT NULL,
    PRIMARY KEY (request_id, seq)
);
