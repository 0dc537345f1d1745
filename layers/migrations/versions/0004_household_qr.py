"""Household QR codes: revocable, re-issuable tokens and per-field consent to show.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UP = r"""
-- The token format of geo/qrtoken.py, made in the database so that COPY of a million
-- households needs no round trip: 13 Crockford base32 symbols (5 random bits each, from the
-- fully random bytes of a version-4 UUID: 65 bits) and a GF(32) check symbol.
CREATE FUNCTION agrimap_qr_token() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    alphabet constant text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    raw bytea := uuid_send(gen_random_uuid());
    positions constant int[] := ARRAY[0, 1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 14, 15];
    token text := '';
    total int := 0;
    v int;
    p int;
BEGIN
    FOREACH p IN ARRAY positions LOOP
        v := get_byte(raw, p) & 31;
        token := token || substr(alphabet, v + 1, 1);
        total := total << 1;
        IF total & 32 <> 0 THEN total := total # 37; END IF;
        total := total # v;
    END LOOP;
    total := total << 1;
    IF total & 32 <> 0 THEN total := total # 37; END IF;
    RETURN token || substr(alphabet, total + 1, 1);
END $$;
ALTER TABLE household ALTER COLUMN qr_token SET DEFAULT agrimap_qr_token();
UPDATE household SET qr_token = agrimap_qr_token() WHERE qr_token !~ '^[0-9A-HJKMNP-TV-Z]{14}$';
-- A household may have no active code (revoked, not yet re-issued).
ALTER TABLE household ALTER COLUMN qr_token DROP NOT NULL;
ALTER TABLE household
    ADD COLUMN show_head_name boolean NOT NULL DEFAULT false,
    ADD COLUMN show_phone boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN household.show_head_name IS
    'The household agreed to show the head''s name on its public QR page';

-- Codes that no longer open the entry: 'replaced' ones say so (without the new code),
-- 'revoked' ones look exactly like codes that never existed.
CREATE TABLE household_qr_retired (
    token text PRIMARY KEY,
    household_id bigint NOT NULL REFERENCES household(id) ON DELETE CASCADE,
    reason text NOT NULL CHECK (reason IN ('replaced', 'revoked')),
    retired_at timestamptz NOT NULL DEFAULT now(),
    retired_by text NOT NULL
);
CREATE INDEX household_qr_retired_household ON household_qr_retired (household_id);

-- The officers' view of a household gains its location, consent flags and current code.
DROP FUNCTION household_personal(bigint);
CREATE FUNCTION household_personal(hid bigint)
RETURNS TABLE (id bigint, code text, label text, village_code text, commune_code text,
               head_name text, phone text, has_fibre boolean, show_head_name boolean,
               show_phone boolean, qr_token text, lon float8, lat float8)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    uid bigint := agrimap_actor_id();
    acct app_user;
    commune text;
BEGIN
    SELECT h.village_code INTO commune FROM household h WHERE h.id = hid;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    commune := household_commune(commune);
    SELECT * INTO acct FROM app_user a WHERE a.id = uid;
    IF NOT FOUND OR acct.disabled
       OR NOT (acct.role = 'admin'
               OR (acct.role = 'planner' AND acct.personal_data)
               OR (acct.role = 'officer' AND EXISTS (
                       SELECT 1 FROM user_commune u
                       WHERE u.user_id = uid AND u.commune_code = commune))) THEN
        RAISE EXCEPTION USING
            ERRCODE = '42501',
            MESSAGE = 'Tài khoản này không được xem thông tin cá nhân của hộ gia đình này.',
            DETAIL = 'This account may not read this household''s personal data.';
    END IF;
    INSERT INTO audit_log (actor, actor_id, action, object_type, object_id, commune_code,
                           detail)
    VALUES (acct.username, uid, 'read_personal', 'household', hid::text, commune,
            jsonb_build_object('fields', jsonb_build_array('head_name', 'phone')));
    RETURN QUERY
        SELECT h.id, h.code, h.label, h.village_code, commune, h.head_name, h.phone,
               h.has_fibre, h.show_head_name, h.show_phone, h.qr_token,
               ST_X(h.geom), ST_Y(h.geom)
        FROM household h WHERE h.id = hid;
END $$;
"""

DOWN = r"""
-- (household_personal keeps its wider result: the 0002 callers read it by position.)
ALTER TABLE household ALTER COLUMN qr_token
    SET DEFAULT replace(gen_random_uuid()::text, '-', '');
DROP FUNCTION agrimap_qr_token();
DROP TABLE household_qr_retired;
ALTER TABLE household DROP COLUMN show_head_name, DROP COLUMN show_phone;
UPDATE household SET qr_token = replace(gen_random_uuid()::text, '-', '') WHERE qr_token IS NULL;
ALTER TABLE household ALTER COLUMN qr_token SET NOT NULL;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
