"""The transcripts table (one redacted transcript per call, beside the calls table) and the
learned lead score's table (one model per account).

A transcript can outgrow what a call item should carry (an hour's call is tens of KB),
so it has its own item, compressed; the call item keeps the announcement and the
analysis (score, label, fired rules with their matches)."""
from __future__ import annotations

from pynamodb.attributes import BinaryAttribute, JSONAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.db import meta, register


@register
class Transcript(Model):
    Meta = meta("transcripts")
    call_id = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute()
    engine = UnicodeAttribute()
    segments = BinaryAttribute(legacy_encoding=False)                # zlib-compressed JSON: [{speaker, start, end, text, …}]
    redacted = NumberAttribute(default=0)         # how many spans redaction replaced
    created_at = NumberAttribute(default=0)
    expires = TTLAttribute(null=True)


@register
class LearnedModel(Model):
    """The account's learned lead score (intelligence/learned.py): one item per account, the
    model compressed (a few thousand weights at most), replaced by each training."""
    Meta = meta("learned_models")
    account_id = UnicodeAttribute(hash_key=True)
    model = BinaryAttribute(legacy_encoding=False)                   # zlib-compressed JSON
    trained_at = NumberAttribute(default=0)
    spec = JSONAttribute(null=True)               # what it learned from: {from, to, positive, negative}
