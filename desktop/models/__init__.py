"""Qt item models: thin adapters over monitor snapshots, updated by diffing (never reset per tick)."""
