"""The published store: what scoring published and what the service writes while answering reads, declared once
(SQLAlchemy Core; SQLite by default, PostgreSQL for multi-user deployments via ``TRACERISK_STORE_URL``), with its
Alembic migrations. The pipeline publishes into it and the service reads from it; it imports only data_contracts.
"""
