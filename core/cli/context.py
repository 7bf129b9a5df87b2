"""Settings, the ClickSend client and the send service, opened for one command."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from core.cli.errors import UsageError
from core.config import Settings, find_config_file, load_settings
from core.errors import TransportError


def settings_from(args: argparse.Namespace, **overrides: Any) -> Settings:
    """Load the settings with the command line's --config, --base-url and `overrides` on top."""
    return load_settings(
        config_path=getattr(args, "config", None), clicksend_base_url=getattr(args, "base_url", None), **overrides
    )


def require_credentials(settings: Settings) -> None:
    if settings.has_credentials:
        return
    where = settings.config_file or find_config_file()[0]
    raise UsageError(
        "ClickSend credentials are missing: set CLICKSEND_USERNAME and CLICKSEND_API_KEY, "
        f"or clicksend_username and clicksend_api_key in {where}. To try smsdesk without an account, "
        "run `smsdesk sandbox` and pass its URL with --base-url, with CLICKSEND_USERNAME=demo-user "
        "and CLICKSEND_API_KEY=demo-key"
    )


@contextlib.asynccontextmanager
async def open_client(settings: Settings) -> AsyncIterator[Any]:
    """Open a ClickSendClient from the settings, or raise UsageError when credentials are missing."""
    from core.client import ClickSendClient

    require_credentials(settings)
    try:
        async with ClickSendClient(
            username=settings.clicksend_username,
            api_key=settings.clicksend_api_key,
            base_url=settings.clicksend_base_url,
            timeout=settings.clicksend_timeout,
            max_requests_per_second=settings.clicksend_max_requests_per_second,
        ) as client:
            yield client
    except TransportError as error:
        error.add_note(f"base URL {settings.clicksend_base_url}")
        raise


@contextlib.asynccontextmanager
async def open_service(settings: Settings) -> AsyncIterator[Any]:
    """Open the send service: the client, the cache and `SmsService` over both."""
    from core.service import SmsService
    from core.store import Store

    try:
        settings.cache_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(
            f"cannot create the cache directory {settings.cache_path.parent}: {error.strerror}; "
            "set SMSDESK_CACHE (or cache_path) to a file in a writable directory"
        ) from None
    async with open_client(settings) as client:
        async with Store.open(settings.cache_path) as store:
            yield SmsService(client=client, store=store, settings=settings)
