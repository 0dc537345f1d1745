"""Accounts, roles, sessions, API tokens, write scoping in the database and an append-only audit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Who acts is told to the database per transaction by the application:
``agrimap.user_id`` (a signed-in account), ``agrimap.user`` (its name, for history) or
``agrimap.system = on`` (the operator's CLI on the server). Triggers refuse any write to
growing areas and households without one of them, and refuse an officer's write outside
the communes the account is scoped to, whatever code path made it.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UP = r"""
CREATE TABLE app_user (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{2,39}$'),
    display_name text NOT NULL,
    role text NOT NULL CHECK (role IN ('admin', 'officer', 'planner')),
    personal_data boolean NOT NULL DEFAULT false,
    password_hash text,
    disabled boolean NOT NULL DEFAULT false,
    failed_logins integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN app_user.personal_data IS
    'A planner may read household names and phones only with this grant';

CREATE TABLE user_commune (
    user_id bigint NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
    commune_code text NOT NULL CHECK (commune_code ~ '^[0-9]{5}$'),
    PRIMARY KEY (user_id, commune_code)
);

CREATE TABLE api_token (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(btrim(name)) > 0),
    token_hash text NOT NULL UNIQUE,
    prefix text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    last_used_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX api_token_user ON api_token (user_id);

CREATE TABLE web_session (
    id_hash text PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX web_session_user ON web_session (user_id);

-- The audit trail: the application appends; nobody rewrites (the triggers below refuse
-- UPDATE, DELETE and TRUNCATE for every role, owner included).
CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor text NOT NULL,
    actor_id bigint,
    action text NOT NULL CHECK (action IN (
        'create', 'update', 'delete', 'read_personal', 'import',
        'login', 'login_failed', 'logout', 'token_create', 'token_revoke',
        'user_create', 'user_update')),
    object_type text NOT NULL,
    object_id text,
    commune_code text,
    before jsonb,
    after jsonb,
    detail jsonb
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id);
CREATE INDEX audit_log_actor ON audit_log (actor);
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = '42501',
        MESSAGE = 'Nhật ký kiểm toán chỉ được ghi thêm, không được sửa hay xóa.',
        DETAIL = 'The audit log is append-only: rows cannot be changed or deleted.';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

CREATE FUNCTION agrimap_actor() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('agrimap.user', true), ''), session_user::text)
$$;

CREATE FUNCTION agrimap_actor_id() RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('agrimap.user_id', true), '')::bigint
$$;

-- Refuse a write in ``commune`` unless the acting account may write there.
CREATE FUNCTION agrimap_require_write(commune text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    uid bigint := agrimap_actor_id();
    acct app_user;
BEGIN
    IF uid IS NULL THEN
        IF current_setting('agrimap.system', true) = 'on' THEN
            RETURN;
        END IF;
        RAISE EXCEPTION USING
            ERRCODE = '42501',
            MESSAGE = 'Không rõ ai ghi dữ liệu này: cần đăng nhập.',
            DETAIL = 'No signed-in account for this write: sign in first.';
    END IF;
    SELECT * INTO acct FROM app_user WHERE id = uid;
    IF NOT FOUND OR acct.disabled THEN
        RAISE EXCEPTION USING
            ERRCODE = '42501',
            MESSAGE = 'Tài khoản không tồn tại hoặc đã bị khóa.',
            DETAIL = 'The account does not exist or is disabled.';
    END IF;
    IF acct.role = 'admin' THEN
        RETURN;
    END IF;
    IF acct.role = 'officer' AND commune IS NOT NULL AND EXISTS (
        SELECT 1 FROM user_commune WHERE user_id = uid AND commune_code = commune
    ) THEN
        RETURN;
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = '42501',
        MESSAGE = format('Tài khoản %s (%s) không được ghi dữ liệu của xã %s.',
                         acct.username, acct.role, coalesce(commune, 'chưa xác định')),
        DETAIL = format('Account %s (%s) may not write data of commune %s.',
                        acct.username, acct.role, coalesce(commune, 'unknown'));
END $$;

CREATE FUNCTION household_commune(village_code text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT v.commune_code FROM village v WHERE v.code = $1
$$;

CREATE FUNCTION growing_area_scope() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM agrimap_require_write(OLD.commune_code);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        IF TG_OP = 'INSERT' OR NEW.commune_code IS DISTINCT FROM OLD.commune_code THEN
            PERFORM agrimap_require_write(NEW.commune_code);
        END IF;
        RETURN NEW;
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER growing_area_scope BEFORE INSERT OR UPDATE OR DELETE ON growing_area
    FOR EACH ROW EXECUTE FUNCTION growing_area_scope();

CREATE FUNCTION household_scope() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM agrimap_require_write(household_commune(OLD.village_code));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        IF TG_OP = 'INSERT' OR NEW.village_code IS DISTINCT FROM OLD.village_code THEN
            PERFORM agrimap_require_write(household_commune(NEW.village_code));
        END IF;
        NEW.updated_at := now();
        RETURN NEW;
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER household_scope BEFORE INSERT OR UPDATE OR DELETE ON household
    FOR EACH ROW EXECUTE FUNCTION household_scope();

-- One audit row per changed feature. Bulk imports set agrimap.bulk = on and record one
-- 'import' row for the whole batch instead (the batch itself is kept in import_batch).
CREATE FUNCTION audit_row_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_j jsonb;
    new_j jsonb;
    j jsonb;
BEGIN
    IF current_setting('agrimap.bulk', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        old_j := to_jsonb(OLD) - 'geom'
            || jsonb_build_object('geom', ST_AsGeoJSON(OLD.geom, 8)::jsonb);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        new_j := to_jsonb(NEW) - 'geom'
            || jsonb_build_object('geom', ST_AsGeoJSON(NEW.geom, 8)::jsonb);
    END IF;
    IF TG_OP = 'UPDATE'
       AND (old_j - 'updated_at' - 'version') = (new_j - 'updated_at' - 'version') THEN
        RETURN NULL;
    END IF;
    j := coalesce(new_j, old_j);
    INSERT INTO audit_log (actor, actor_id, action, object_type, object_id, commune_code,
                           before, after)
    VALUES (agrimap_actor(), agrimap_actor_id(),
            CASE TG_OP WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update' ELSE 'delete' END,
            TG_TABLE_NAME, j->>'id',
            coalesce(j->>'commune_code', household_commune(j->>'village_code')),
            old_j, new_j);
    RETURN NULL;
END $$;
CREATE TRIGGER growing_area_audit AFTER INSERT OR UPDATE OR DELETE ON growing_area
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER household_audit AFTER INSERT OR UPDATE OR DELETE ON household
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();

-- The only way the application reads a household's personal data: checks the role and
-- records the read in the audit log, in the same statement.
CREATE FUNCTION household_personal(hid bigint)
RETURNS TABLE (id bigint, code text, label text, village_code text, commune_code text,
               head_name text, phone text, has_fibre boolean)
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
               h.has_fibre
        FROM household h WHERE h.id = hid;
END $$;
"""

DOWN = r"""
DROP FUNCTION household_personal(bigint);
DROP TRIGGER household_audit ON household;
DROP TRIGGER growing_area_audit ON growing_area;
DROP FUNCTION audit_row_change();
DROP TRIGGER household_scope ON household;
DROP FUNCTION household_scope();
DROP TRIGGER growing_area_scope ON growing_area;
DROP FUNCTION growing_area_scope();
DROP FUNCTION household_commune(text);
DROP FUNCTION agrimap_require_write(text);
DROP FUNCTION agrimap_actor_id();
DROP FUNCTION agrimap_actor();
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE web_session;
DROP TABLE api_token;
DROP TABLE user_commune;
DROP TABLE app_user;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
