"""Starter rules: what a new account gets until it writes its own (docs/intelligence.md).

General to local-service businesses (trades, clinics, law offices, garages), written from
what such calls sound like, not from any one account. Order matters: the first rule that
sets `lead` decides the label, so spam and wrong numbers come first, then existing
customers, then signs of a new customer.
"""
from __future__ import annotations

from typing import Any, Dict, List

STARTER_RULES: List[Dict[str, Any]] = [
    {"id": "robocall", "name": "Robocall or recorded pitch",
     "when": {"any": [
         {"phrase": ["press one", "press 1", "final notice", "extended warranty", "google listing",
                     "google business listing", "this is not a sales call", "you have been selected",
                     "qualifies for", "funding specialist", "listing specialist"], "speaker": "caller"}]},
     "then": {"lead": "spam", "tags": ["spam"], "score": -100}},
    {"id": "cold-pitch", "name": "Sales pitch to the business",
     "when": {"any": [
         {"phrase": ["business owner", "speak to the owner", "speak with the owner", "processing rates",
                     "seo services", "top of google", "send our proposal", "merchant services"], "speaker": "caller"}]},
     "then": {"lead": "spam", "tags": ["sales-pitch"], "score": -80}},
    {"id": "silent-caller", "name": "Nobody on the caller's side",
     "when": {"all": [{"fact": "caller_words", "op": "=", "value": 0}, {"fact": "status", "op": "=", "value": "answered"}]},
     "then": {"lead": "spam", "tags": ["silent"], "score": -60}},
    {"id": "wrong-number", "name": "Wrong number",
     "when": {"any": [
         {"phrase": ["wrong number", "dialed wrong", "dialled wrong", "my mistake", "meant to call",
                     "is this not"], "speaker": "any"},
         {"regex": "\\b(?:is this|isn't this) (?:the )?(?:dr\\.? \\w+|pizza|pharmacy)"}]},
     "then": {"lead": "not_lead", "tags": ["wrong-number"], "score": -60}},
    {"id": "existing-customer", "name": "Existing customer",
     "when": {"any": [
         {"phrase": ["your technician", "you replaced", "you installed", "you guys replaced", "already a customer",
                     "my account", "on your maintenance plan", "maintenance plan", "reschedule", "my appointment",
                     "confirm my appointment", "invoice", "a bill from you", "charged twice", "i'm a client",
                     "update on my case", "dropped off", "checking if it's ready", "had a filling",
                     "under the warranty"], "speaker": "caller"},
         {"phrase": ["account name", "name on the account", "on your account", "under our warranty"],
          "speaker": "agent"}]},
     "then": {"lead": "not_lead", "tags": ["existing-customer"], "score": -30}},
    {"id": "job-or-vendor", "name": "Job seeker or supplier",
     "when": {"phrase": ["hiring", "apply", "resume", "intern", "internship", "delivery of your",
                         "calling to confirm the delivery"], "speaker": "caller"},
     "then": {"lead": "not_lead", "tags": ["not-a-customer"], "score": -40}},
    {"id": "asked-price", "name": "Asked about price",
     "when": {"phrase": ["how much", "quote", "estimate", "price", "what do you charge", "what would",
                         "cost", "flat fee", "roughly what", "free consultation", "free in-home"], "speaker": "caller"},
     "then": {"tags": ["pricing"], "score": 30}},
    {"id": "needs-service", "name": "Needs the service",
     "when": {"phrase": ["can someone come", "can you come", "could you come", "send someone", "come out",
                         "come and take a look", "fit me in", "are you taking new patients", "looking for",
                         "do you do", "do you offer", "i need a lawyer", "as soon as possible", "how soon",
                         "i'd like to book", "emergency", "burst", "leak", "stopped", "backing up", "hurts",
                         "grinding", "time to replace"], "speaker": "caller"},
     "then": {"tags": ["service-request"], "score": 35}},
    {"id": "booked", "name": "Appointment booked",
     "when": {"any": [
         {"phrase": ["you're booked", "i'll put you down", "put me down", "let's book", "please book", "book it",
                     "i'll be there", "works for", "let's do", "it is", "that works"], "speaker": "any"},
         {"regex": "\\b(?:tomorrow|today|monday|tuesday|wednesday|thursday|friday|saturday) (?:at|morning|afternoon|evening)\\b",
          "speaker": "agent"}]},
     "then": {"tags": ["appointment"], "score": 25}},
    {"id": "real-conversation", "name": "A real conversation (a minute or more)",
     "when": {"fact": "talk_seconds", "op": ">=", "value": 60},
     "then": {"score": 10}},
    {"id": "qualified", "name": "New customer with intent",
     "when": {"all": [{"any": [{"phrase": ["how much", "quote", "estimate", "price", "cost", "charge", "fee",
                                           "consultation", "can someone come", "can you come", "could you come",
                                           "send someone", "come out", "take a look", "fit me in", "new patients",
                                           "looking for", "do you do", "i need", "how soon", "book"],
                                "speaker": "caller"}]},
                      {"not": {"phrase": ["your technician", "already a customer", "my account", "reschedule",
                                          "invoice", "i'm a client", "maintenance plan", "you replaced", "you installed",
                                          "you guys replaced", "dropped off"], "speaker": "caller"}}]},
     "then": {"lead": "qualified", "tags": ["qualified-lead"], "score": 10}},
]
