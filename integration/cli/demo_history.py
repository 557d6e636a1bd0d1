"""Sixty days of a small home-services business, as Quo would have delivered them: the history `undertone demo`
sends before its live samples, so every insights question has something to answer.

Two business lines and three reps; about twenty customers who call and text. Written so that the answers are
worth reading: billing complaints early on and more thanks lately (the trend), two customers who call back within
48 hours about the same unresolved problem (callbacks), five different customers upset about missed appointments
in the last ten days (a spike), replies texted to some unhappy customers and not to others (who has not heard
back). The ids are fixed, so sending the history again adds nothing (the service answers "duplicates"); the times
are relative to the first run.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MAIN, TEXTS = ("PNdemoLine01", "+16175550100"), ("PNdemoLine02", "+16175550101")
DANA, LUIS, PRIYA = "USdemoAgent1", "USdemoAgent2", "USdemoAgent3"


@dataclass(frozen=True)
class Entry:
    """One past conversation (or reply) `days_ago` days before now, from (or to) customer number `customer`."""

    days_ago: float
    customer: int
    kind: str  # "call" (a transcribed incoming call), "text" (an incoming text) or "reply" (a text we sent)
    text: str
    agent: str | None = None
    line: tuple[str, str] = MAIN


HISTORY = (
    Entry(58, 1, "call", "I was charged twice for the furnace tune-up and I want the second charge refunded.", DANA),
    Entry(57.5, 1, "reply", "Hi, this is Dana. The duplicate charge is refunded; it shows in 3 to 5 days.", DANA),
    Entry(56, 2, "text", "Thanks for fitting us in so quickly, the new thermostat works great.", None, TEXTS),
    Entry(54, 3, "call", "The invoice has a fee nobody told me about. This is the second bill that's wrong.", LUIS),
    Entry(52, 4, "text", "Can someone tell me what time the technician is coming on Thursday?", None, TEXTS),
    Entry(50, 5, "call", "Your quote was double what my neighbour paid, that's way too expensive.", PRIYA),
    Entry(49, 6, "call", "I've been billed for a maintenance plan I cancelled in March. Fix it or I'm disputing it.",
          DANA),
    Entry(47, 7, "text", "The plumber was friendly and cleaned up after himself. Great job.", None, TEXTS),
    Entry(45, 3, "call", "I still haven't got a corrected invoice and now there's a late fee on it. Unbelievable.",
          LUIS),
    Entry(44, 8, "call", "I'd like to book a water heater inspection sometime next week.", PRIYA),
    Entry(42, 9, "text", "Charged again for the same visit?! Nobody answers the phone at your office.", None, TEXTS),
    Entry(41.5, 9, "reply", "Sorry about that, we've reversed the charge. Call us any time at this number.", LUIS,
          TEXTS),
    Entry(40, 10, "call", "The AC stopped working the day after your repair. Really disappointed.", DANA),
    Entry(38, 11, "text", "Thank you, the estimate was clear and fair.", None, TEXTS),
    Entry(36, 12, "call", "Your technician was rude to my wife and left mud all over the carpet.", LUIS),
    Entry(35, 13, "text", "What are your hours on Saturday?", None, TEXTS),
    Entry(33, 14, "call", "Great service as always, Priya sorted the booking in two minutes.", PRIYA),
    Entry(31, 15, "call", "The water heater is leaking again after the repair and there's water all over the garage.",
          DANA),
    Entry(29.8, 15, "call", "It's still leaking, it's the same problem as yesterday and nobody has come out.", DANA),
    Entry(29, 16, "text", "Really happy with the new boiler, thanks to the whole team.", None, TEXTS),
    Entry(27, 2, "text", "Your team did excellent work on the gutters, thank you!", None, TEXTS),
    Entry(25, 17, "call", "Wonderful job on the bathroom fan, the technician explained everything.", PRIYA),
    Entry(23, 18, "text", "Can I move my appointment to the afternoon?", None, TEXTS),
    Entry(21, 7, "text", "Thanks again, we'll recommend you to our friends.", None, TEXTS),
    Entry(19, 10, "call", "The AC repair held up this time, thank you for coming back so fast.", DANA),
    Entry(17, 19, "call", "Very professional crew, on time and tidy. Thank you.", LUIS),
    Entry(15, 11, "text", "Loved how quick the drain cleaning was, great price too.", None, TEXTS),
    Entry(13, 20, "call", "The new heat pump is quiet and the house is warm. Excellent work.", PRIYA),
    Entry(10, 4, "call", "The technician never showed up for my appointment and nobody called to say why.", LUIS),
    Entry(9, 21, "text", "Missed appointment again. I took the morning off work for nothing.", None, TEXTS),
    Entry(8.6, 21, "reply", "I'm so sorry. We've booked you first thing tomorrow, 8am, with our senior tech.", PRIYA,
          TEXTS),
    Entry(8, 22, "call", "I waited all day and nobody came for the scheduled repair. This is ridiculous.", DANA),
    Entry(6.5, 22, "call", "Calling again, still no show and no call back about the scheduled repair.", DANA),
    Entry(6, 23, "text", "Your crew didn't show up for the booking window and no one answers.", None, TEXTS),
    Entry(5, 13, "text", "The appointment was cancelled without telling me, I'm really frustrated.", None, TEXTS),
    Entry(4, 14, "text", "Thank you for the quick visit this morning, all fixed.", None, TEXTS),
    Entry(3, 24, "call", "Fantastic service, the plumber found the leak in ten minutes.", PRIYA),
    Entry(2, 16, "text", "Thanks for the reminder text, see you Thursday.", None, TEXTS),
    Entry(1, 19, "text", "Great job on the furnace, the house has never been this warm.", None, TEXTS),
)


def customer_number(customer: int) -> str:
    return f"+1617555{200 + customer:04d}"


def events(start: datetime) -> list[dict]:
    """The history's Quo events (fixed ids), times counted back from `start` (aware, UTC)."""
    found = []
    for n, entry in enumerate(HISTORY, 1):
        at = iso(start - timedelta(days=entry.days_ago))
        line_id, number = entry.line
        customer = customer_number(entry.customer)
        ref = f"demoHist{n:03d}"
        if entry.kind == "call":
            found.append(_event(f"EV{ref}c", "call.completed", at, {
                "id": f"AC{ref}", "object": "call", "direction": "incoming", "status": "completed",
                "createdAt": at, "answeredAt": at, "completedAt": at, "duration": 240,
                "participants": [customer], "phoneNumberId": line_id, "userId": entry.agent}))
            found.append(_event(f"EV{ref}t", "call.transcript.completed", at, {
                "callId": f"AC{ref}", "object": "callTranscript", "createdAt": at, "status": "completed",
                "phoneNumberId": line_id, "userId": entry.agent,
                "dialogue": [{"content": entry.text, "identifier": customer, "userId": None, "start": 0.0,
                              "end": 6.0}]}))
        else:
            incoming = entry.kind == "text"
            found.append(_event(f"EV{ref}m", "message.received" if incoming else "message.delivered", at, {
                "id": f"AC{ref}", "object": "message", "from": customer if incoming else number,
                "to": [number if incoming else customer], "direction": "incoming" if incoming else "outgoing",
                "text": entry.text, "status": "received" if incoming else "delivered", "createdAt": at,
                "phoneNumberId": line_id, "userId": entry.agent}))
    return found


def scored_thread_keys() -> list[str]:
    """The thread keys of the history's conversations that get a score (replies are touches, never scored)."""
    return [f"call:ACdemoHist{n:03d}" if entry.kind == "call" else f"message:ACdemoHist{n:03d}"
            for n, entry in enumerate(HISTORY, 1) if entry.kind != "reply"]


def _event(event_id: str, kind: str, at: str, obj: dict) -> dict:
    return {"id": event_id, "object": "event", "apiVersion": "v4", "createdAt": at, "type": kind,
            "data": {"object": obj}}


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
