"""Storage ports (``base``) and backends: ``memory`` (reference), ``sqlite`` (default), ``postgres``."""
