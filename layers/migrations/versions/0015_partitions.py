"""Households and growing areas partitioned by province (LIST), the audit log by month (RANGE).

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-03

**The province key.** ``province_code`` is kept on the row (households and growing areas), the
province of the row's commune; NULL (the ``_p_none`` partition) for a row without a commune.
PostgreSQL routes an INSERT to its partition *before* any BEFORE ROW trigger runs, and refuses a
trigger that would move it, so the writer names the province (the import's move statement joins
the commune, the registry and the household form call ``commune_province()``); the scope trigger
checks it and refuses a wrong one. On UPDATE the scope trigger sets it from the commune, so a row
whose commune changes province moves partition; when a commune's province changes (the 2025
merge of 63 provinces into 34), a trigger on ``commune`` moves its households and areas.

**A partition per province**, made by ``agrimap_province_partitions(code)`` when the province is
first loaded (a trigger on ``province``, so every import, registration and the demo seed find it
ready), with the same indexes (``partitioned_index`` holds their definitions; they are the
partition's own, so an import can drop and rebuild one province's without touching another's),
the same row triggers (cloned by PostgreSQL from the parent), and a statement trigger that
refuses writes naming a partition: the statement triggers (tile-cache notifications, household
cells, served households, the keys below) live on the parent and fire only through it.

**Guarantees that span partitions.** A unique index on a partitioned table must contain the
partition key. ``(commune_code, code)`` of a household is unique per commune, and a commune lies
in one province, so the per-partition unique index is the same guarantee. Ids, QR tokens and
growing-area codes are unique in the whole country: ``household_key`` (id, province, QR token) and
``growing_area_key`` (id, province, code) are plain tables with those unique constraints (under
their former names), kept by statement triggers in the same statement; the retired QR codes'
foreign key now refers to ``household_key``.

**A row that moves partition** is deleted from one and inserted into the other by PostgreSQL:
row triggers see a DELETE and an INSERT, never the UPDATE. The history and audit triggers record
it as the update it is (at the DELETE half, which still has the old row; the INSERT half is
recognised by its id already being in the key table) and its id, history, retired codes and
served rows stay as they were.

**The audit log by month** (Vietnam's calendar months): ``audit_log_add_months(ahead)`` creates
the months from the current one to ``ahead`` months on, each with the append-only triggers. It
is called by this migration, at every server start and by ``agrimap maintain``, never by a
writer: creating a partition locks the whole audit log until the creator commits (a long import
would stall every sign-in), and a session cannot create one while it is inserting into it.
"""

from alembic import op

revision = "0015"
down_revision = "0011"
branch_labels = None
depends_on = None

PARTITIONED = ("household", "growing_area")

# The partition's own indexes: (parent, suffix, definition for format(def, index, partition)).
# A primary key per partition on id (global uniqueness: the key tables).
INDEXES = (
    ("household", "pkey", "ALTER TABLE %2$I ADD CONSTRAINT %1$I PRIMARY KEY (id)"),
    ("household", "code_unique_in_commune",
     "CREATE UNIQUE INDEX %1$I ON %2$I (commune_code, code) NULLS NOT DISTINCT"),
    ("household", "qr_token", "CREATE UNIQUE INDEX %1$I ON %2$I (qr_token)"),
    ("household", "geom_gist", "CREATE INDEX %1$I ON %2$I USING gist (geom)"),
    ("household", "village", "CREATE INDEX %1$I ON %2$I (village_code)"),
    ("household", "import_batch", "CREATE INDEX %1$I ON %2$I (import_batch_id)"),
    ("growing_area", "pkey", "ALTER TABLE %2$I ADD CONSTRAINT %1$I PRIMARY KEY (id)"),
    ("growing_area", "code", "CREATE UNIQUE INDEX %1$I ON %2$I (code)"),
    ("growing_area", "geom_gist", "CREATE INDEX %1$I ON %2$I USING gist (geom)"),
    ("growing_area", "active_geom",
     "CREATE INDEX %1$I ON %2$I USING gist (geom) WHERE status = 'active'"),
    ("growing_area", "commune", "CREATE INDEX %1$I ON %2$I (commune_code)"),
    ("growing_area", "import_batch", "CREATE INDEX %1$I ON %2$I (import_batch_id)"),
)  # fmt: skip

FUNCTIONS = r"""
CREATE TABLE partitioned_index (
    parent text NOT NULL,
    suffix text NOT NULL,
    definition text NOT NULL,
    PRIMARY KEY (parent, suffix)
);
COMMENT ON TABLE partitioned_index IS
    'The indexes every province partition of household / growing_area gets (chỉ mục của mỗi '
    'phân vùng tỉnh): format(definition, index name, partition name).';

CREATE FUNCTION commune_province(commune text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT c.province_code FROM commune c WHERE c.code = $1
$$;

CREATE FUNCTION agrimap_partition_name(parent text, province text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT parent || '_p' || coalesce(province, 'none')
$$;

CREATE FUNCTION agrimap_partition_write_refused() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = '42501',
        MESSAGE = format('Ghi vào bảng %s, không ghi thẳng vào phân vùng %s.',
                         TG_ARGV[0], TG_TABLE_NAME),
        DETAIL = format('Write through table %s, not into its partition %s: the statement '
                        'triggers of %s (tile caches, cells, coverage, keys) fire only there.',
                        TG_ARGV[0], TG_TABLE_NAME, TG_ARGV[0]);
END $$;

-- The partition of ``parent`` for ``province`` (NULL: rows without a commune), with its indexes
-- and the refusal of direct writes. Returns false when it exists already.
CREATE FUNCTION agrimap_province_partition(parent text, province text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    part text := agrimap_partition_name(parent, province);
    ix record;
BEGIN
    IF to_regclass(part) IS NOT NULL THEN
        RETURN false;
    END IF;
    IF province IS NOT NULL AND province !~ '^[0-9]{2}$' THEN
        RAISE EXCEPTION 'not a province code: %', province;
    END IF;
    IF province IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES IN (NULL)', part, parent);
    ELSE
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES IN (%L)', part, parent,
                       province);
    END IF;
    FOR ix IN SELECT suffix, definition FROM partitioned_index p WHERE p.parent = $1
              ORDER BY suffix LOOP
        EXECUTE format(ix.definition, part || '_' || ix.suffix, part);
    END LOOP;
    EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE OR DELETE ON %I FOR EACH STATEMENT '
                   'EXECUTE FUNCTION agrimap_partition_write_refused(%L)',
                   part || '_through_parent', part, parent);
    RETURN true;
END $$;

CREATE FUNCTION agrimap_province_partitions(province text) RETURNS void LANGUAGE sql AS $$
    SELECT agrimap_province_partition('household', $1);
    SELECT agrimap_province_partition('growing_area', $1);
$$;

CREATE FUNCTION province_partitions() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    part text;
    held boolean;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM agrimap_province_partitions(NEW.code);
    ELSE
        -- A province is deleted only without communes (their foreign key), so without rows: its
        -- partitions are dropped, after checking that they are empty.
        FOR part IN SELECT agrimap_partition_name(p, OLD.code)
                    FROM unnest(ARRAY['household', 'growing_area']) p LOOP
            CONTINUE WHEN to_regclass(part) IS NULL;
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', part) INTO held;
            IF held THEN
                RAISE EXCEPTION 'partition % of province % still holds rows', part, OLD.code;
            END IF;
            EXECUTE format('DROP TABLE %I', part);
        END LOOP;
    END IF;
    RETURN NULL;
END $$;

-- A commune that changes province (a merge of provinces) takes its households and areas along:
-- they move partition, keeping their ids, history and everything that refers to them.
CREATE FUNCTION commune_province_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE household SET province_code = NEW.province_code
    WHERE commune_code = NEW.code AND province_code IS NOT DISTINCT FROM OLD.province_code;
    UPDATE growing_area SET province_code = NEW.province_code
    WHERE commune_code = NEW.code AND province_code IS NOT DISTINCT FROM OLD.province_code;
    RETURN NULL;
END $$;

-- Ids, QR tokens and growing-area codes are unique across partitions through these tables.
CREATE FUNCTION layer_keys_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'household' THEN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO household_key (id, province_code, qr_token)
            SELECT id, province_code, qr_token FROM new_rows ORDER BY qr_token;
        ELSIF TG_OP = 'UPDATE' THEN
            UPDATE household_key k SET province_code = n.province_code, qr_token = n.qr_token
            FROM new_rows n
            WHERE k.id = n.id AND (k.province_code IS DISTINCT FROM n.province_code
                                   OR k.qr_token IS DISTINCT FROM n.qr_token);
        ELSIF TG_OP = 'DELETE' THEN
            DELETE FROM household_key k USING old_rows o WHERE k.id = o.id;
        ELSE
            TRUNCATE household_key CASCADE;
        END IF;
    ELSE
        IF TG_OP = 'INSERT' THEN
            INSERT INTO growing_area_key (id, province_code, code)
            SELECT id, province_code, code FROM new_rows ORDER BY code;
        ELSIF TG_OP = 'UPDATE' THEN
            UPDATE growing_area_key k SET province_code = n.province_code, code = n.code
            FROM new_rows n
            WHERE k.id = n.id AND (k.province_code IS DISTINCT FROM n.province_code
                                   OR k.code IS DISTINCT FROM n.code);
        ELSIF TG_OP = 'DELETE' THEN
            DELETE FROM growing_area_key k USING old_rows o WHERE k.id = o.id;
        ELSE
            TRUNCATE growing_area_key;
        END IF;
    END IF;
    RETURN NULL;
END $$;

-- Is this row-trigger INSERT the second half of a move between partitions? (Its id is in the
-- key table already: a new row's key is added by the statement trigger, after the row triggers.)
CREATE FUNCTION agrimap_row_moved_in(layer text, row_id bigint) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
    found boolean;
BEGIN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE id = $1)', layer || '_key')
        INTO found USING row_id;
    RETURN found;
END $$;

CREATE OR REPLACE FUNCTION household_scope() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    province text;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM agrimap_require_write(household_commune(OLD.village_code));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        IF TG_OP = 'UPDATE' AND NEW.id IS DISTINCT FROM OLD.id THEN
            RAISE EXCEPTION 'a household id does not change';
        END IF;
        IF TG_OP = 'INSERT' OR NEW.village_code IS DISTINCT FROM OLD.village_code THEN
            -- A bulk import has placed the rows set-wise; any other write looks it up.
            IF NEW.commune_code IS NULL OR current_setting('agrimap.bulk', true) IS DISTINCT FROM 'on' THEN
                NEW.commune_code := household_commune(NEW.village_code);
            END IF;
            PERFORM agrimap_require_write(NEW.commune_code);
        END IF;
        IF TG_OP = 'INSERT' OR NEW.commune_code IS DISTINCT FROM OLD.commune_code
           OR NEW.province_code IS DISTINCT FROM OLD.province_code THEN
            province := commune_province(NEW.commune_code);
            IF TG_OP = 'UPDATE' THEN
                NEW.province_code := province;  -- a new province moves the row's partition
            ELSIF NEW.province_code IS DISTINCT FROM province THEN
                PERFORM agrimap_wrong_province(NEW.commune_code, NEW.province_code, province);
            END IF;
        END IF;
        NEW.updated_at := now();
        RETURN NEW;
    END IF;
    RETURN OLD;
END $$;

CREATE FUNCTION agrimap_wrong_province(commune text, given text, expected text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = '23514',
        MESSAGE = format('Mã tỉnh %s không phải tỉnh của xã %s (%s): ghi kèm commune_province(mã xã).',
                         coalesce(given, 'trống'), coalesce(commune, 'trống'),
                         coalesce(expected, 'không có')),
        DETAIL = format('Province %s is not the province of commune %s (%s): a row names its '
                        'province on insert (province_code = commune_province(commune)), since '
                        'the partition is chosen before any trigger runs.',
                        coalesce(given, 'none'), coalesce(commune, 'none'),
                        coalesce(expected, 'none'));
END $$;

CREATE OR REPLACE FUNCTION growing_area_scope() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    province text;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM agrimap_require_write(OLD.commune_code);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        IF TG_OP = 'UPDATE' AND NEW.id IS DISTINCT FROM OLD.id THEN
            RAISE EXCEPTION 'a growing area id does not change';
        END IF;
        IF TG_OP = 'INSERT' OR NEW.commune_code IS DISTINCT FROM OLD.commune_code THEN
            PERFORM agrimap_require_write(NEW.commune_code);
        END IF;
        IF TG_OP = 'INSERT' OR NEW.commune_code IS DISTINCT FROM OLD.commune_code
           OR NEW.province_code IS DISTINCT FROM OLD.province_code THEN
            province := commune_province(NEW.commune_code);
            IF TG_OP = 'UPDATE' THEN
                NEW.province_code := province;
            ELSIF NEW.province_code IS DISTINCT FROM province THEN
                PERFORM agrimap_wrong_province(NEW.commune_code, NEW.province_code, province);
            END IF;
        END IF;
        RETURN NEW;
    END IF;
    RETURN OLD;
END $$;

-- One audit row per changed feature (TG_ARGV[0]: the layer, since a partition's trigger runs
-- with the partition's name). A move between partitions is one update.
CREATE OR REPLACE FUNCTION audit_row_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    layer text := coalesce(TG_ARGV[0], TG_TABLE_NAME);
    op text := TG_OP;
    old_j jsonb;
    new_j jsonb;
    j jsonb;
BEGIN
    IF current_setting('agrimap.bulk', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_ARGV[0] IS NOT NULL AND TG_OP = 'INSERT' AND agrimap_row_moved_in(layer, NEW.id) THEN
        RETURN NULL;  -- recorded at the DELETE half
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        old_j := to_jsonb(OLD) - 'geom'
            || jsonb_build_object('geom', ST_AsGeoJSON(OLD.geom, 8)::jsonb);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        new_j := to_jsonb(NEW) - 'geom'
            || jsonb_build_object('geom', ST_AsGeoJSON(NEW.geom, 8)::jsonb);
    ELSIF TG_ARGV[0] IS NOT NULL THEN
        -- Still there after its DELETE: the row moved to another partition.
        EXECUTE format('SELECT to_jsonb(t) - ''geom'' || jsonb_build_object(''geom'', '
                       'ST_AsGeoJSON(t.geom, 8)::jsonb) FROM %I t WHERE t.id = $1', layer)
            INTO new_j USING OLD.id;
        IF new_j IS NOT NULL THEN
            op := 'UPDATE';
        END IF;
    END IF;
    IF op = 'UPDATE'
       AND (old_j - 'updated_at' - 'version') = (new_j - 'updated_at' - 'version') THEN
        RETURN NULL;
    END IF;
    j := coalesce(new_j, old_j);
    INSERT INTO audit_log (actor, actor_id, action, object_type, object_id, commune_code,
                           before, after)
    VALUES (agrimap_actor(), agrimap_actor_id(),
            CASE op WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update' ELSE 'delete' END,
            layer, j->>'id',
            coalesce(j->>'commune_code', household_commune(j->>'village_code')),
            old_j, new_j);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION growing_area_record_history() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_ growing_area;
    before_status text;
    action text := lower(TG_OP);
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT * INTO row_ FROM growing_area WHERE id = OLD.id;
        IF FOUND THEN  -- still there: it moved to another partition, an update
            action := 'update';
            before_status := OLD.status;
        ELSE
            row_ := OLD;
        END IF;
    ELSIF TG_OP = 'INSERT' THEN
        IF agrimap_row_moved_in('growing_area', NEW.id) THEN
            RETURN NULL;  -- recorded at the DELETE half
        END IF;
        row_ := NEW;
    ELSE
        row_ := NEW;
        before_status := OLD.status;
    END IF;
    IF action = 'update' AND before_status IS DISTINCT FROM row_.status THEN
        action := CASE row_.status
            WHEN 'suspended' THEN 'suspend'
            WHEN 'revoked' THEN 'revoke'
            WHEN 'active' THEN 'reinstate'
            ELSE 'update' END;
    END IF;
    INSERT INTO growing_area_history
        (growing_area_id, version, operation, changed_by, record, geom)
    VALUES (
        row_.id, row_.version, action,
        coalesce(nullif(current_setting('agrimap.user', true), ''), session_user),
        to_jsonb(row_) - 'geom', row_.geom
    );
    RETURN NULL;
END $$;

-- The audit log by month (Vietnam's months). Called by the migration, at server start and by
-- `agrimap maintain`; returns how many months it created.
CREATE FUNCTION audit_log_add_months(ahead integer DEFAULT 12, since timestamptz DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    m timestamp := date_trunc('month', coalesce(since, now()) AT TIME ZONE 'Asia/Ho_Chi_Minh');
    last_ timestamp := date_trunc('month', now() AT TIME ZONE 'Asia/Ho_Chi_Minh')
                       + make_interval(months => ahead);
    part text;
    made integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('agrimap:audit_log_add_months'));
    WHILE m <= last_ LOOP
        part := 'audit_log_' || to_char(m, 'YYYY_MM');
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF audit_log FOR VALUES FROM (%L) TO (%L)',
                           part, m AT TIME ZONE 'Asia/Ho_Chi_Minh',
                           (m + interval '1 month') AT TIME ZONE 'Asia/Ho_Chi_Minh');
            EXECUTE format('CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON %I '
                           'FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()', part);
            EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I FROM PUBLIC', part);
            made := made + 1;
        END IF;
        m := m + interval '1 month';
    END LOOP;
    RETURN made;
END $$;
"""


def _partition_tables() -> str:
    """Rename the plain tables aside, create the partitioned ones, copy, re-create the triggers."""
    out = []
    for t in PARTITIONED:
        out.append(f"""
ALTER TABLE {t} RENAME TO {t}_unpartitioned;
ALTER SEQUENCE {t}_id_seq RENAME TO {t}_id_seq_unpartitioned;
CREATE TABLE {t} (LIKE {t}_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS
                  INCLUDING IDENTITY INCLUDING COMMENTS, province_code text)
    PARTITION BY LIST (province_code);
""")  # noqa: S608 - our names
    out.append(r"""
COMMENT ON COLUMN household.province_code IS
    'The province of the household''s commune: the partition key (phân vùng theo tỉnh)';
COMMENT ON COLUMN growing_area.province_code IS
    'The province of the area''s commune: the partition key (phân vùng theo tỉnh)';

SELECT agrimap_province_partitions(code) FROM province ORDER BY code;
SELECT agrimap_province_partitions(NULL);

INSERT INTO household OVERRIDING SYSTEM VALUE
SELECT h.*, c.province_code FROM household_unpartitioned h
LEFT JOIN commune c ON c.code = h.commune_code ORDER BY h.id;
INSERT INTO growing_area OVERRIDING SYSTEM VALUE
SELECT g.*, c.province_code FROM growing_area_unpartitioned g
LEFT JOIN commune c ON c.code = g.commune_code ORDER BY g.id;
SELECT setval(pg_get_serial_sequence('household', 'id'),
              (SELECT last_value FROM household_id_seq_unpartitioned),
              (SELECT is_called FROM household_id_seq_unpartitioned));
SELECT setval(pg_get_serial_sequence('growing_area', 'id'),
              (SELECT last_value FROM growing_area_id_seq_unpartitioned),
              (SELECT is_called FROM growing_area_id_seq_unpartitioned));

CREATE TABLE household_key (
    id bigint NOT NULL,
    province_code text,
    qr_token text
);
CREATE TABLE growing_area_key (
    id bigint NOT NULL,
    province_code text,
    code text NOT NULL
);
COMMENT ON TABLE household_key IS
    'One row per household (khóa hộ): ids and QR tokens unique across province partitions.';
COMMENT ON TABLE growing_area_key IS
    'One row per growing area (khóa vùng trồng): ids and codes unique across partitions.';
INSERT INTO household_key SELECT id, province_code, qr_token FROM household;
INSERT INTO growing_area_key SELECT id, province_code, code FROM growing_area;

-- Every trigger of the plain tables, on the partitioned ones (row triggers are cloned to each
-- partition; the audit trigger is told its layer).
DO $$
DECLARE
    t record;
    def text;
BEGIN
    FOR t IN
        SELECT c.relname AS rel, pg_get_triggerdef(g.oid) AS def
        FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
        WHERE c.relname IN ('household_unpartitioned', 'growing_area_unpartitioned')
          AND NOT g.tgisinternal
        ORDER BY g.tgname
    LOOP
        def := regexp_replace(t.def, ' ON (public\.)?' || t.rel || ' ',
                              ' ON ' || replace(t.rel, '_unpartitioned', '') || ' ');
        def := replace(def, 'audit_row_change()',
                       format('audit_row_change(%L)', replace(t.rel, '_unpartitioned', '')));
        EXECUTE def;
    END LOOP;
END $$;

ALTER TABLE household_qr_retired DROP CONSTRAINT household_qr_retired_household_id_fkey;
DROP TABLE household_unpartitioned;
DROP TABLE growing_area_unpartitioned;
-- (No foreign key on province_code: the scope trigger or the import's join makes it the
-- commune's, which has one; a million per-row checks would add ~10 s to a province's import.)
ALTER TABLE household
    ADD FOREIGN KEY (village_code) REFERENCES village (code),
    ADD FOREIGN KEY (import_batch_id) REFERENCES import_batch (id);
ALTER TABLE growing_area
    ADD FOREIGN KEY (commune_code) REFERENCES commune (code),
    ADD FOREIGN KEY (import_batch_id) REFERENCES import_batch (id);

ALTER TABLE household_key
    ADD CONSTRAINT household_pkey PRIMARY KEY (id),
    ADD CONSTRAINT household_qr_token_key UNIQUE (qr_token);
ALTER TABLE growing_area_key
    ADD CONSTRAINT growing_area_pkey PRIMARY KEY (id),
    ADD CONSTRAINT growing_area_code_key UNIQUE (code);
ALTER TABLE household_qr_retired ADD CONSTRAINT household_qr_retired_household_id_fkey
    FOREIGN KEY (household_id) REFERENCES household_key (id) ON DELETE CASCADE;

CREATE TRIGGER household_keys_inserted AFTER INSERT ON household
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION layer_keys_apply();
CREATE TRIGGER household_keys_updated AFTER UPDATE ON household
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION layer_keys_apply();
CREATE TRIGGER household_keys_deleted AFTER DELETE ON household
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION layer_keys_apply();
CREATE TRIGGER household_keys_truncated AFTER TRUNCATE ON household
    FOR EACH STATEMENT EXECUTE FUNCTION layer_keys_apply();
CREATE TRIGGER growing_area_keys_inserted AFTER INSERT ON growing_area
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION layer_keys_apply();
CREATE TRIGGER growing_area_keys_updated AFTER UPDATE ON growing_area
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION layer_keys_apply();
CREATE TRIGGER growing_area_keys_deleted AFTER DELETE ON growing_area
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION layer_keys_apply();
CREATE TRIGGER growing_area_keys_truncated AFTER TRUNCATE ON growing_area
    FOR EACH STATEMENT EXECUTE FUNCTION layer_keys_apply();

CREATE TRIGGER province_partitions AFTER INSERT OR DELETE ON province
    FOR EACH ROW EXECUTE FUNCTION province_partitions();
CREATE TRIGGER commune_province_moved AFTER UPDATE OF province_code ON commune
    FOR EACH ROW WHEN (OLD.province_code IS DISTINCT FROM NEW.province_code)
    EXECUTE FUNCTION commune_province_moved();
""")
    return "\n".join(out)


AUDIT_UP = r"""
ALTER TABLE audit_log RENAME TO audit_log_unpartitioned;
ALTER SEQUENCE audit_log_id_seq RENAME TO audit_log_id_seq_unpartitioned;
CREATE TABLE audit_log (LIKE audit_log_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS
                        INCLUDING IDENTITY)
    PARTITION BY RANGE (at);
SELECT audit_log_add_months(12, (SELECT min(at) FROM audit_log_unpartitioned));
INSERT INTO audit_log OVERRIDING SYSTEM VALUE SELECT * FROM audit_log_unpartitioned ORDER BY id;
SELECT setval(pg_get_serial_sequence('audit_log', 'id'),
              (SELECT last_value FROM audit_log_id_seq_unpartitioned),
              (SELECT is_called FROM audit_log_id_seq_unpartitioned));
DROP TABLE audit_log_unpartitioned;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id, at);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id);
CREATE INDEX audit_log_actor ON audit_log (actor);
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
"""


def upgrade() -> None:
    op.execute(FUNCTIONS)
    for parent, suffix, definition in INDEXES:
        op.execute(
            f"INSERT INTO partitioned_index VALUES ('{parent}', '{suffix}', "  # noqa: S608
            f"$def${definition}$def$)"
        )
    op.execute(_partition_tables())
    op.execute(AUDIT_UP)


# ---- downgrade: the plain tables of 0011, with their data, constraints and triggers --------

AUDIT_DOWN = r"""
ALTER TABLE audit_log RENAME TO audit_log_partitioned;
ALTER SEQUENCE audit_log_id_seq RENAME TO audit_log_id_seq_partitioned;
CREATE TABLE audit_log (LIKE audit_log_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS
                        INCLUDING IDENTITY);
INSERT INTO audit_log OVERRIDING SYSTEM VALUE SELECT * FROM audit_log_partitioned ORDER BY id;
SELECT setval(pg_get_serial_sequence('audit_log', 'id'),
              (SELECT last_value FROM audit_log_id_seq_partitioned),
              (SELECT is_called FROM audit_log_id_seq_partitioned));
DROP TABLE audit_log_partitioned;
DROP FUNCTION audit_log_add_months(integer, timestamptz);
ALTER TABLE audit_log ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id);
CREATE INDEX audit_log_actor ON audit_log (actor);
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
"""

PLAIN_DOWN = r"""
DROP TRIGGER province_partitions ON province;
DROP TRIGGER commune_province_moved ON commune;
ALTER TABLE household_qr_retired DROP CONSTRAINT household_qr_retired_household_id_fkey;
"""

PLAIN_AFTER = r"""
DROP TABLE household_key, growing_area_key;
ALTER TABLE household
    ADD CONSTRAINT household_pkey PRIMARY KEY (id),
    ADD CONSTRAINT household_code_unique_in_commune UNIQUE NULLS NOT DISTINCT (commune_code, code),
    ADD CONSTRAINT household_qr_token_key UNIQUE (qr_token),
    ADD FOREIGN KEY (village_code) REFERENCES village (code),
    ADD FOREIGN KEY (import_batch_id) REFERENCES import_batch (id);
CREATE INDEX household_geom_gist ON household USING gist (geom);
CREATE INDEX household_village ON household (village_code);
CREATE INDEX household_import_batch ON household (import_batch_id);
ALTER TABLE growing_area
    ADD CONSTRAINT growing_area_pkey PRIMARY KEY (id),
    ADD CONSTRAINT growing_area_code_key UNIQUE (code),
    ADD FOREIGN KEY (commune_code) REFERENCES commune (code),
    ADD FOREIGN KEY (import_batch_id) REFERENCES import_batch (id);
CREATE INDEX growing_area_geom_gist ON growing_area USING gist (geom);
CREATE INDEX growing_area_active_geom ON growing_area USING gist (geom) WHERE status = 'active';
CREATE INDEX growing_area_commune ON growing_area (commune_code);
CREATE INDEX growing_area_import_batch ON growing_area (import_batch_id);
ALTER TABLE household_qr_retired ADD CONSTRAINT household_qr_retired_household_id_fkey
    FOREIGN KEY (household_id) REFERENCES household (id) ON DELETE CASCADE;

DROP FUNCTION layer_keys_apply();
DROP FUNCTION agrimap_row_moved_in(text, bigint);
DROP FUNCTION province_partitions();
DROP FUNCTION commune_province_moved();
DROP FUNCTION agrimap_province_partitions(text);
DROP FUNCTION agrimap_province_partition(text, text);
DROP FUNCTION agrimap_partition_write_refused();
DROP FUNCTION agrimap_partition_name(text, text);
DROP TABLE partitioned_index;

CREATE OR REPLACE FUNCTION household_scope() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM agrimap_require_write(household_commune(OLD.village_code));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        IF TG_OP = 'INSERT' OR NEW.village_code IS DISTINCT FROM OLD.village_code THEN
            -- A bulk import has placed the rows set-wise; any other write looks it up.
            IF NEW.commune_code IS NULL OR current_setting('agrimap.bulk', true) IS DISTINCT FROM 'on' THEN
                NEW.commune_code := household_commune(NEW.village_code);
            END IF;
            PERFORM agrimap_require_write(NEW.commune_code);
        END IF;
        NEW.updated_at := now();
        RETURN NEW;
    END IF;
    RETURN OLD;
END $$;
CREATE OR REPLACE FUNCTION growing_area_scope() RETURNS trigger LANGUAGE plpgsql AS $$
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
DROP FUNCTION agrimap_wrong_province(text, text, text);
DROP FUNCTION commune_province(text);
CREATE OR REPLACE FUNCTION audit_row_change() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE OR REPLACE FUNCTION growing_area_record_history() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_ growing_area;
    action text := lower(TG_OP);
BEGIN
    IF TG_OP = 'DELETE' THEN row_ := OLD; ELSE row_ := NEW; END IF;
    IF TG_OP = 'UPDATE' AND OLD.status IS DISTINCT FROM NEW.status THEN
        action := CASE NEW.status
            WHEN 'suspended' THEN 'suspend'
            WHEN 'revoked' THEN 'revoke'
            WHEN 'active' THEN 'reinstate'
            ELSE 'update' END;
    END IF;
    INSERT INTO growing_area_history
        (growing_area_id, version, operation, changed_by, record, geom)
    VALUES (
        row_.id, row_.version, action,
        coalesce(nullif(current_setting('agrimap.user', true), ''), session_user),
        to_jsonb(row_) - 'geom', row_.geom
    );
    RETURN NULL;
END $$;
"""


def _unpartition_tables() -> str:
    out = [PLAIN_DOWN]
    for t in PARTITIONED:
        out.append(f"""
ALTER TABLE {t} RENAME TO {t}_partitioned;
ALTER SEQUENCE {t}_id_seq RENAME TO {t}_id_seq_partitioned;
CREATE TABLE {t} (LIKE {t}_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS
                  INCLUDING IDENTITY INCLUDING COMMENTS);
INSERT INTO {t} OVERRIDING SYSTEM VALUE SELECT * FROM {t}_partitioned ORDER BY id;
ALTER TABLE {t} DROP COLUMN province_code;
SELECT setval(pg_get_serial_sequence('{t}', 'id'),
              (SELECT last_value FROM {t}_id_seq_partitioned),
              (SELECT is_called FROM {t}_id_seq_partitioned));
""")  # noqa: S608 - our names
    out.append("""
DO $$
DECLARE
    t record;
    def text;
BEGIN
    FOR t IN
        SELECT c.relname AS rel, pg_get_triggerdef(g.oid) AS def
        FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
        WHERE c.relname IN ('household_partitioned', 'growing_area_partitioned')
          AND NOT g.tgisinternal AND g.tgparentid = 0
          AND g.tgname NOT LIKE '%\\_keys\\_%'
        ORDER BY g.tgname
    LOOP
        def := regexp_replace(t.def, ' ON (public\\.)?' || t.rel || ' ',
                              ' ON ' || replace(t.rel, '_partitioned', '') || ' ');
        def := regexp_replace(def, 'audit_row_change\\([^)]*\\)', 'audit_row_change()');
        EXECUTE def;
    END LOOP;
END $$;
DROP TABLE household_partitioned;
DROP TABLE growing_area_partitioned;
""")
    out.append(PLAIN_AFTER)
    return "\n".join(out)


def downgrade() -> None:
    op.execute(AUDIT_DOWN)
    op.execute(_unpartition_tables())
