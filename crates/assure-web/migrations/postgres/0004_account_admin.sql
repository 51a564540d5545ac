-- Account administration: a token's expiry (0: never), scope (`read-write` or `read-only`) and
-- revocation time (0: in force); an account's disabling time (0: active). A disabled account
-- cannot sign in, and its sessions and tokens stop working.
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'read-write';
ALTER TABLE api_tokens ADD COLUMN revoked_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN disabled_at BIGINT NOT NULL DEFAULT 0;
