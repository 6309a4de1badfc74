"""Data-subject rights: find, export and erase one person in every store; the byte scan
that proves an erasure; retention. See docs/privacy.md."""
