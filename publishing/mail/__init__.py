"""The mail outbox: mails rendered and queued in the caller's transaction, sent by a worker."""
