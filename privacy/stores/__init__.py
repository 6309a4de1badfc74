"""One module per store holding personal data: ``find`` lists what it holds about a subject,
``erase`` removes it and returns the rows (or files) removed. Every ``erase`` is idempotent:
run again after a crash, it finds nothing left to do or finishes what was left."""
