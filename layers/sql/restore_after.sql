-- Run by `agrimap restore` last in its transaction: the rasters now live in the target's
-- data_dir (psql variable raster_dir). The dump left search_path empty, hence public.
-- Triggers are off for the rewrite: moving a file is not a change of the layer, and the
-- restored layer_version must stay the archive's.
ALTER TABLE public.soil_raster DISABLE TRIGGER USER;
UPDATE public.soil_raster
SET path = :'raster_dir' || '/' || regexp_replace(path, '^.*/', '')
WHERE path IS DISTINCT FROM :'raster_dir' || '/' || regexp_replace(path, '^.*/', '');
ALTER TABLE public.soil_raster ENABLE TRIGGER USER;
