"""Settings, read from the environment (``PATRONAGE_*``) with safe defaults for a laptop."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from patronage.clock import DEFAULT_COMPANY_ZONE, zone
from patronage.proxies import Network, parse_networks

DEFAULT_SECRET = "patronage-demo-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PATRONAGE_", extra="ignore")

    database_url: str = Field(default="sqlite:///./patronage.db")
    company_name: str = "Patronage Demo Co."
    company_timezone: str = DEFAULT_COMPANY_ZONE
    currency: str = "USD"
    #: The code of the default market: where members not placed in another market buy (made
    #: from :attr:`currency` when the markets table is created).
    market: str = "US"
    secret_key: str = DEFAULT_SECRET
    #: Key of the suppression hashes (HMAC-SHA256 of each suppressed email or phone number).
    #: Empty: the secret key. Never change it once set, or suppressions stop matching.
    suppression_key: str = ""
    demo_mode: bool = False
    base_url: str = "http://127.0.0.1:8000"
    #: Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or
    #: networks, comma separated). Empty: the headers are ignored.
    trusted_proxies: str = ""

    #: At most this many things on a distributor's Today, the most worth doing first.
    today_limit: int = Field(default=10, ge=1, le=100)
    #: Days after a personal occasion (a birthday) its call or note expires, not made.
    occasion_grace_days: int = Field(default=3, ge=0, le=60)

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "care@patronage.example"

    def company_zone(self) -> ZoneInfo:
        """:attr:`company_timezone` as a time zone (refused with the setting's name when it is
        not one)."""
        return zone(self.company_timezone)

    def suppression_secret(self) -> bytes:
        """The key suppression hashes are made with: :attr:`suppression_key`, else the secret
        key."""
        return (self.suppression_key or self.secret_key).encode("utf-8")

    def proxy_networks(self) -> tuple[Network, ...]:
        """:attr:`trusted_proxies` parsed (refused with the setting's name when malformed)."""
        return parse_networks(self.trusted_proxies)

    def check_secret(self) -> None:
        """Refuse to serve with the default (public) secret key outside demo mode."""
        if self.demo_mode:
            return
        if self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 16:
            from patronage.errors import PatronageError

            raise PatronageError(
                "PATRONAGE_SECRET_KEY: set a secret key of at least 16 characters of your own "
                "(for example the output of `python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'`); the default key is only for demo mode "
                "(PATRONAGE_DEMO_MODE=true)"
            )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of the environment, read once: for the composition roots (the server, the
    pages and the API), which pass the values on to the services."""
    return Settings()
