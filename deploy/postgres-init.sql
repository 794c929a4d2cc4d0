-- Run once by the postgres image when it creates the cluster: Prefect's own database, owned by the same role.
CREATE DATABASE prefect OWNER tracerisk;
