"""ClickHouse DDL migrations and SQL models (Jinja: ``source()``, ``ref()``, ``config()``).

The same files run on a ClickHouse server and on the embedded Parquet lake (through chDB).
"""

from pathlib import Path

ROOT = Path(__file__).parent
MIGRATIONS_DIR = ROOT / "migrations"
MODELS_DIR = ROOT / "models"
