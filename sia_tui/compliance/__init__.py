"""Compliance: the send-time unsubscribe check, local opt-outs, and the append-only ledger of send decisions."""
