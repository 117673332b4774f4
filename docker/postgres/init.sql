-- One database per replica (docker/compose.yaml): replicas may share predictions, wafer verdicts and
-- broker message ids, but not alerts yet — each server numbers its alerts from the largest id stored
-- when it starts, so two servers on one database would write over each other's alerts (README,
-- "Alerts": one process per database for now).
CREATE DATABASE rti_1;
CREATE DATABASE rti_2;
CREATE DATABASE rti_3;
