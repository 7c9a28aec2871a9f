"""sheets-sync: keep every school of an ESA reporting to OBEC's systems on time."""

__version__ = "0.1.0"
