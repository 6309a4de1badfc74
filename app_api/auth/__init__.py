"""Authentication: API keys, password logins, signed session cookies and bearer tokens."""
