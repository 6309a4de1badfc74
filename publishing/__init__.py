"""Publishing: hosted landing pages, opt-in, one-click double opt-in, delivery and mail."""
