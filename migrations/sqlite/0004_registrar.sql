-- SIP accounts (for agents' phones and softphones) with HA1 digests only, and the
-- registrar's bindings so a restart keeps them.
CREATE TABLE sip_accounts (
    username TEXT PRIMARY KEY,
    realm TEXT NOT NULL,
    ha1_md5 TEXT NOT NULL,
    ha1_sha256 TEXT NOT NULL,
    created_us BIGINT NOT NULL
);

CREATE TABLE registrations (
    aor TEXT NOT NULL,
    contact TEXT NOT NULL,
    source TEXT NOT NULL,
    expires_us BIGINT NOT NULL,
    PRIMARY KEY (aor, contact)
);
