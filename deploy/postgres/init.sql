-- Runs once, when the postgresql service initialises an empty data directory
-- (docker-entrypoint-initdb.d, as the superuser "temporal"). Temporal's own databases
-- (temporal, temporal_visibility) are created by the temporal service's auto-setup; this adds
-- the platform's metadata store: role "mlops" owning database "mlops".
-- Local-development credentials only; change them for anything shared.
CREATE ROLE mlops WITH LOGIN PASSWORD 'mlops';
CREATE DATABASE mlops OWNER mlops;
