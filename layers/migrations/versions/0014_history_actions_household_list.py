"""Growing-area history names status actions (suspend, reinstate, revoke, not "update"), and
officers' household list of a village with its personal data, checked and audited.

Revision ID: 0014
Revises: 0008
Create Date: 2026-12-02

The history trigger names a version by what happened to the area: an UPDATE that changes the
status is the status action it is (active -> suspended: ``suspend``; suspended -> active:
``reinstate``; -> revoked: ``revoke``), whatever client wrote it; any other UPDATE stays
``update``. Versions already recorded are renamed the same way (by comparing each version's
status with the one before it), so older timelines read like new ones.

``household_personal_village(village, search, lim, off)`` is the list of a village's households
with the head's name for the officers' household page: the same check as
``household_personal`` (admin; an officer of the village's commune; a planner allowed personal
data) and one ``read_personal`` audit entry per household shown (detail ``via``:
``village_list``), so a list read is recorded like opening each household. ``search`` matches
the code, label or head's name, without diacritics or case ("nguyen van" finds "Nguyễn Văn").
"""

from alembic import op

revision = "0014"
down_revision = "0008"
branch_labels = None
depends_on = None


# Every precomposed Latin letter with marks (either case) -> its lower-case base letter, for
# translate(): lower() may leave non-ASCII capitals alone in the C locale. (Written out from
# unicodedata: U+00C0–U+1FFE whose NFD starts with an ASCII letter, then đ and Đ.)
HOUSEHOLD_LIST = r"""
CREATE FUNCTION agrimap_fold(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT translate(lower(t),
        'ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳḀḁḂḃḄḅḆḇḈḉḊḋḌḍḎḏḐḑḒḓḔḕḖḗḘḙḚḛḜḝḞḟḠḡḢḣḤḥḦḧḨḩḪḫḬḭḮḯḰḱḲḳḴḵḶḷḸḹḺḻḼḽḾḿṀṁṂṃṄṅṆṇṈṉṊṋṌṍṎṏṐṑṒṓṔṕṖṗṘṙṚṛṜṝṞṟṠṡṢṣṤṥṦṧṨṩṪṫṬṭṮṯṰṱṲṳṴṵṶṷṸṹṺṻṼṽṾṿẀẁẂẃẄẅẆẇẈẉẊẋẌẍẎẏẐẑẒẓẔẕẖẗẘẙẠạẢảẤấẦầẨẩẪẫẬậẮắẰằẲẳẴẵẶặẸẹẺẻẼẽẾếỀềỂểỄễỆệỈỉỊịỌọỎỏỐốỒồỔổỖỗỘộỚớỜờỞởỠỡỢợỤụỦủỨứỪừỬửỮữỰựỲỳỴỵỶỷỸỹđĐ',
        'aaaaaaceeeeiiiinooooouuuuyaaaaaaceeeeiiiinooooouuuuyyaaaaaaccccccccddeeeeeeeeeegggggggghhiiiiiiiiijjkkllllllnnnnnnoooooorrrrrrssssssssttttuuuuuuuuuuuuwwyyyzzzzzzoouuaaiioouuuuuuuuuuaaaaggkkoooojggnnaaaaaaeeeeiiiioooorrrruuuusstthhaaeeooooooooyyaabbbbbbccddddddddddeeeeeeeeeeffgghhhhhhhhhhiiiikkkkkkllllllllmmmmmmnnnnnnnnoooooooopppprrrrrrrrssssssssssttttttttuuuuuuuuuuvvvvwwwwwwwwwwxxxxyyzzzzzzhtwyaaaaaaaaaaaaaaaaaaaaaaaaeeeeeeeeeeeeeeeeiiiioooooooooooooooooooooooouuuuuuuuuuuuuuyyyyyyyydd')
$$;

CREATE FUNCTION household_personal_village(village text, search text, lim integer, off integer)
RETURNS TABLE (id bigint, code text, label text, head_name text, qr_token text, total bigint)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    uid bigint := agrimap_actor_id();
    acct app_user;
    commune text := household_commune(village);
    pattern text := '%' || agrimap_fold(coalesce(btrim(search), '')) || '%';
    r record;
BEGIN
    SELECT * INTO acct FROM app_user a WHERE a.id = uid;
    IF NOT FOUND OR acct.disabled
       OR NOT (acct.role = 'admin'
               OR (acct.role = 'planner' AND acct.personal_data)
               OR (acct.role = 'officer' AND EXISTS (
                       SELECT 1 FROM user_commune u
                       WHERE u.user_id = uid AND u.commune_code = commune))) THEN
        RAISE EXCEPTION USING
            ERRCODE = '42501',
            MESSAGE = 'Tài khoản này không được xem thông tin cá nhân của hộ gia đình thôn này.',
            DETAIL = 'This account may not read the personal data of this village''s households.';
    END IF;
    FOR r IN
        SELECT h.id, h.code, h.label, h.head_name, h.qr_token, count(*) OVER () AS total
        FROM household h
        WHERE h.village_code = village
          AND agrimap_fold(h.code || ' ' || h.label || ' ' || coalesce(h.head_name, ''))
              LIKE pattern
        ORDER BY h.code, h.id
        LIMIT lim OFFSET off
    LOOP
        INSERT INTO audit_log (actor, actor_id, action, object_type, object_id, commune_code,
                               detail)
        VALUES (acct.username, uid, 'read_personal', 'household', r.id::text, commune,
                jsonb_build_object('fields', jsonb_build_array('head_name'),
                                   'via', 'village_list', 'village', village));
        id := r.id; code := r.code; label := r.label; head_name := r.head_name;
        qr_token := r.qr_token; total := r.total;
        RETURN NEXT;
    END LOOP;
END $$;
"""

UP = r"""
ALTER TABLE growing_area_history DROP CONSTRAINT history_operation;
ALTER TABLE growing_area_history ADD CONSTRAINT history_operation
    CHECK (operation IN ('insert', 'update', 'delete', 'suspend', 'reinstate', 'revoke'));

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

WITH ordered AS (
    SELECT id, operation, record ->> 'status' AS status,
           lag(record ->> 'status') OVER (PARTITION BY growing_area_id ORDER BY id) AS before
    FROM growing_area_history
)
UPDATE growing_area_history h
SET operation = CASE o.status
    WHEN 'suspended' THEN 'suspend' WHEN 'revoked' THEN 'revoke' ELSE 'reinstate' END
FROM ordered o
WHERE h.id = o.id AND o.operation = 'update' AND o.before IS DISTINCT FROM o.status
  AND o.before IS NOT NULL AND o.status IN ('suspended', 'revoked', 'active');
"""

DOWN = r"""
UPDATE growing_area_history SET operation = 'update'
WHERE operation IN ('suspend', 'reinstate', 'revoke');
ALTER TABLE growing_area_history DROP CONSTRAINT history_operation;
ALTER TABLE growing_area_history ADD CONSTRAINT history_operation
    CHECK (operation IN ('insert', 'update', 'delete'));

CREATE OR REPLACE FUNCTION growing_area_record_history() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_ growing_area;
BEGIN
    IF TG_OP = 'DELETE' THEN row_ := OLD; ELSE row_ := NEW; END IF;
    INSERT INTO growing_area_history
        (growing_area_id, version, operation, changed_by, record, geom)
    VALUES (
        row_.id, row_.version, lower(TG_OP),
        coalesce(nullif(current_setting('agrimap.user', true), ''), session_user),
        to_jsonb(row_) - 'geom', row_.geom
    );
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.execute(UP)
    op.execute(HOUSEHOLD_LIST)


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION household_personal_village(text, text, integer, integer); "
        "DROP FUNCTION agrimap_fold(text);"
    )
    op.execute(DOWN)
