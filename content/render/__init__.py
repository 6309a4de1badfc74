"""Renderers: every output format is produced from a :class:`content.document.Document`."""
