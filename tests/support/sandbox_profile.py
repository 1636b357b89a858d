"""A profile pointed at a running sandbox, as the README's "Pointing a profile at ``sandbox serve``" does by hand:
the sandbox's ready line (``RunningSandbox.ready_line()``, or the JSON ``sandbox serve`` prints) turned into the
``SIA_*`` environment variables of those settings. Every test that points a profile at a sandbox starts here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def profile_env(ready: Mapping[str, Any]) -> dict[str, str]:
    """Marketo, Salesforce and SMTP settings for the sandbox that printed ``ready``."""
    return {
        "SIA_MARKETO_BASE_URL": ready["marketo_url"],
        "SIA_MARKETO_CLIENT_ID": ready["marketo_client_id"],
        "SIA_MARKETO_CLIENT_SECRET": ready["marketo_client_secret"],
        "SIA_SALESFORCE_INSTANCE_URL": ready["salesforce_url"],
        "SIA_SALESFORCE_CLIENT_ID": ready["salesforce_client_id"],
        "SIA_SALESFORCE_CLIENT_SECRET": ready["salesforce_client_secret"],
        "SIA_SMTP_HOST": ready["smtp_host"],
        "SIA_SMTP_PORT": str(ready["smtp_port"]),
        "SIA_SMTP_STARTTLS": "true" if ready["smtp_starttls"] else "false",
    }
