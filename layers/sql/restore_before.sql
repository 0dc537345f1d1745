-- Run by `agrimap restore` in the same transaction as the dump's script: start from an empty
-- schema, so the target holds exactly what the archive holds (objects of a newer or older
-- schema version included). The postgis extension lives in public and is re-created by the dump.
DROP SCHEMA IF EXISTS public CASCADE;
CREATE SCHEMA public;
