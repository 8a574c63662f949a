"""Conversation intelligence: transcripts, redaction, rules that tag and score calls
(docs/intelligence.md)."""
