"""``outbox worker --batch-size`` asks for smaller batches; the APIs' own limits (kept by their clients) still cap
them, in one place (:func:`sia_tui.outbox.worker.batch_overrides`)."""

from __future__ import annotations

from sia_tui.marketo.custom_activities import MAX_BATCH
from sia_tui.outbox.worker import WorkerConfig, batch_overrides
from sia_tui.salesforce.client import COLLECTION_LIMIT


def test_a_small_batch_size_applies_to_every_destination():
    assert batch_overrides(5) == {"smtp_batch": 5, "marketo_batch": 5, "salesforce_batch": 5}


def test_a_large_batch_size_never_exceeds_what_each_api_takes_in_one_call():
    config = WorkerConfig(**batch_overrides(10_000))
    assert (config.marketo_batch, config.salesforce_batch) == (MAX_BATCH, COLLECTION_LIMIT) == (300, 200)
    assert config == WorkerConfig()  # the defaults are the limits
