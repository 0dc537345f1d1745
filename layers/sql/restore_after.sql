-- Run by `agrimap restore` last in its transaction: the rasters now live in the target's
-- data_dir (psql variable raster_dir). The dump left search_path empty, hence public.
-- Triggers are off for the rewrite: moving a file is not a change of the layer, and the
-- restored layer_version must stay the archive's.
ALTER TABLE public.soil_raster DISABLE TRIGGER USER;
UPDATE public.soil_raster
SET path = :'raster_dir' || '/' || regexp_replace(path, '^.*/', '')
WHERE path IS DISTINCT FROM :'raster_dir' || '/' || regexp_replace(path, '^.*/', '');
ALTER TABLE public.soil_raster ENABLE TRIGGER USER;

-- Every table holds as many rows as the manifest says (psql variable expected_counts, a JSON
-- object "schema.table" -> count); a mismatch aborts the whole restore. Extension tables
-- (spatial_ref_sys) are the target PostGIS's own and are not compared.
SELECT set_config('agrimap.expected_counts', :'expected_counts', true);
DO $$
DECLARE
    expected jsonb := current_setting('agrimap.expected_counts')::jsonb;
    entry record;
    rel regclass;
    found bigint;
BEGIN
    FOR entry IN SELECT key, value FROM jsonb_each_text(expected) LOOP
        rel := to_regclass(format('%I.%I', split_part(entry.key, '.', 1),
                                  substr(entry.key, length(split_part(entry.key, '.', 1)) + 2)));
        IF rel IS NULL THEN
            RAISE EXCEPTION 'table % of the manifest is missing after the restore', entry.key;
        END IF;
        CONTINUE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                              WHERE d.classid = 'pg_catalog.pg_class'::regclass
                                AND d.objid = rel AND d.deptype = 'e');
        EXECUTE format('SELECT count(*) FROM %s', rel) INTO found;
        IF found <> entry.value::bigint THEN
            RAISE EXCEPTION 'table % holds % rows, the manifest says %', entry.key, found, entry.value;
        END IF;
    END LOOP;
END $$;
