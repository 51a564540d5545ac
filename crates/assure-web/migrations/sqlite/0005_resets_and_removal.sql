-- Password resets and account removal. A reset is a one-time link an administrator hands over:
-- the database keeps the SHA-256 of its token, who made it, when it stops working and when it was
-- used (0: not yet). A removed account keeps its row, so the audit log, comments and requests
-- still name who did what; it cannot sign in, its sessions, tokens and resets stop, and it is no
-- longer listed among the accounts.
CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX password_resets_user ON password_resets (user_id);
ALTER TABLE users ADD COLUMN removed_at BIGINT NOT NULL DEFAULT 0;
