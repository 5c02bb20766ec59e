"""Settings, read from the environment (``PATRONAGE_*``) with safe defaults for a laptop."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from patronage.clock import DEFAULT_COMPANY_ZONE, zone
from patronage.proxies import Network, parse_networks

if TYPE_CHECKING:
    from patronage.payments.settings import PaymentSettings
    from patronage.payouts.core.files import Originator
    from patronage.payouts.core.tax_forms import Threshold
    from patronage.payouts.secrets import Vault

DEFAULT_SECRET = "patronage-demo-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PATRONAGE_", extra="ignore")

    #: The database: ``sqlite:///./patronage.db`` (one file), or
    #: ``postgresql://user@host/dbname`` for production (the global ``--db URL`` overrides it).
    database_url: str = Field(default="sqlite:///./patronage.db")
    #: A read replica of the PostgreSQL database (streaming replication) for the pages that may
    #: read slightly stale data (the dashboards); empty: they read the database.
    read_database_url: str = ""
    #: Connections each server or worker process keeps open to PostgreSQL, and how many more it
    #: may open at a peak (SQLAlchemy's pool; ignored on SQLite).
    db_pool_size: int = Field(default=5, ge=1, le=200)
    #: Connections a process may open beyond the pool at a peak (closed again after).
    db_max_overflow: int = Field(default=10, ge=0, le=500)
    #: Logs on standard error: ``json`` (one JSON object a line, with the request id) or
    #: ``text``.
    log_format: Literal["json", "text"] = "json"
    #: The least important log level written: DEBUG, INFO, WARNING or ERROR.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: Where to send OpenTelemetry traces (OTLP over HTTP: a collector's base URL, e.g.
    #: ``http://otel-collector:4318``); none: no traces. Needs ``pip install 'patronage[otel]'``.
    otel_endpoint: str | None = None
    #: The service name the traces carry (``service.name``).
    otel_service_name: str = "patronage"
    #: The company's name, shown on pages and in messages.
    company_name: str = "Patronage Demo Co."
    #: The company's time zone: when a month ends, when the scheduled jobs run; members with an
    #: unknown zone are planned in it.
    company_timezone: str = DEFAULT_COMPANY_ZONE
    #: The currency of the default market (ISO 4217).
    currency: str = "USD"
    #: The code of the default market: where members not placed in another market buy (made
    #: from :attr:`currency` when the markets table is created).
    market: str = "US"
    #: Signs sessions and personal links; the server refuses the default, or a key shorter than
    #: 16 characters, outside demo mode.
    secret_key: str = DEFAULT_SECRET
    #: Key of the suppression hashes (HMAC-SHA256 of each suppressed email or phone number).
    #: Empty: the secret key. Never change it once set, or suppressions stop matching.
    suppression_key: str = ""
    #: Accept the default secret key (``serve --demo`` sets it).
    demo_mode: bool = False
    #: The address members reach, used in links; ``https://`` makes the session cookie Secure.
    base_url: str = "http://127.0.0.1:8000"
    #: Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or
    #: networks, comma separated). Empty: the headers are ignored.
    trusted_proxies: str = ""

    #: The minimum payout: balances below it are carried forward. One amount for every
    #: currency (in its major units), then exceptions: ``"20.00, MXN:400, JPY:3000"``.
    payout_minimum: str = "20.00"
    #: Adjustments above this amount (same form) need a second staff member's approval.
    adjustment_approval_above: str = "500.00"
    #: The day of the month distributors are paid (1-28).
    payout_day: int = 15
    #: Keys that encrypt payout methods and tax ids at rest (Fernet keys, comma separated: the
    #: first encrypts, every one decrypts, so a new key goes first and the old one stays until
    #: ``patronage payout-methods rotate-key`` has re-encrypted the records). Empty: a key
    #: derived from the secret key (demo and laptops only).
    payout_keys: str = ""
    #: Days a new or changed payout method holds the distributor's payouts (account-takeover
    #: guard).
    payout_cooling_days: int = 14
    #: Days product credit (the "refer 3, yours is free" reward paid as credit) stays to be
    #: spent; unspent credit older than that expires in the daily ``patronage credit expire``.
    credit_expiry_days: int = 365
    #: US 1099-NEC reporting thresholds by the first day they apply to payments
    #: (``YYYY-MM-DD=amount``, comma separated); add a year's indexed threshold here.
    tax_1099_thresholds: str = "1900-01-01=600.00,2026-01-01=2000.00"
    #: The IBAN of the company's own account payouts are made from (the originator of SEPA
    #: payout files).
    payout_iban: str = ""
    #: The company's BIC (SEPA payout files).
    payout_bic: str = ""
    #: The company's ACH company id (NACHA payout files).
    ach_company_id: str = ""
    #: The routing number of the company's bank (ACH originating institution).
    ach_odfi_routing: str = ""
    #: The routing number of the ACH destination (the bank or Federal Reserve receiving the file).
    ach_destination: str = ""
    #: The name of the ACH destination.
    ach_destination_name: str = ""
    #: At most this many things on a distributor's Today, the most worth doing first.
    today_limit: int = Field(default=10, ge=1, le=100)
    #: Days after a personal occasion (a birthday) its call or note expires, not made.
    occasion_grace_days: int = Field(default=3, ge=0, le=60)

    #: The mail server for care emails and password resets.
    smtp_host: str = "127.0.0.1"
    #: The mail server's port.
    smtp_port: int = 1025
    #: The mail server's user name (none: no sign-in).
    smtp_username: str | None = None
    #: The mail server's password.
    smtp_password: str | None = None
    #: Whether to switch the mail connection to TLS (STARTTLS).
    smtp_starttls: bool = False
    #: The sender of care emails.
    mail_from: str = "care@patronage.example"
    #: How care texts are sent: ``none`` (they wait, and are dropped as late past their
    #: window), ``twilio`` (Twilio's Messages API) or ``file`` (written to
    #: :attr:`care_outbox_dir`, for trials and the demo). docs/care-delivery.md.
    sms_provider: Literal["none", "twilio", "file"] = "none"
    #: Twilio's API address (another one for a proxy or the tests' local fake).
    twilio_base_url: str = "https://api.twilio.com"
    #: The Twilio account (``AC...``) texts are sent from.
    twilio_account_sid: str = ""
    #: The Twilio account's auth token: the API password and the key status callbacks are
    #: signed with (a secret: shown nowhere).
    twilio_auth_token: SecretStr = SecretStr("")
    #: The number (E.164) texts are sent from, or a Twilio messaging service (``MG...``).
    twilio_from: str = ""
    #: How due cards are posted: ``batch`` (a print-ready PDF for your own printing, ``care
    #: deliver --cards-dir``), ``lob`` (Lob's print-and-mail API) or ``file`` (written to
    #: :attr:`care_outbox_dir`, for trials and the demo).
    cards_via: Literal["batch", "lob", "file"] = "batch"
    #: Lob's API address (another one for a proxy or the tests' local fake).
    lob_base_url: str = "https://api.lob.com"
    #: Lob's secret API key (a secret: shown nowhere).
    lob_api_key: SecretStr = SecretStr("")
    #: What Lob mails: ``postcard`` (front and back) or ``letter`` (one page, folded).
    lob_mail_type: Literal["postcard", "letter"] = "postcard"
    #: The return address Lob prints, as the id of an address saved at Lob (``adr_...``).
    lob_from_address: str = ""
    #: The folder the ``file`` text and card adapters write what would be sent to.
    care_outbox_dir: str = ""
    #: A Maildir folder the worker reads bounce (DSN) and complaint (ARF) messages from, as
    #: ``patronage care bounces --maildir`` does; empty: the worker does not read one.
    bounces_maildir: str = ""

    #: What a participant typically spends a year to run the business, in the company's words,
    #: printed under the income disclosure (earnings there are gross, before these expenses).
    typical_expenses: str = ""
    #: Which gateway charges cards: ``simulated`` (the demo's stand-in) or ``stripe``.
    payment_gateway: str = "simulated"
    #: Stripe's keys (secrets: shown nowhere, not even in this object's ``repr``).
    stripe_secret_key: SecretStr = SecretStr("")
    #: The signing secret of the ``/webhooks/stripe`` endpoint (``whsec_...``); without it every
    #: event is refused.
    stripe_webhook_secret: SecretStr = SecretStr("")
    #: The publishable key the card page gives Stripe Elements.
    stripe_publishable_key: str = ""
    #: The shared secret the mail provider's bounce and complaint events are signed with
    #: (``POST /webhooks/mail``, docs/care-delivery.md); empty: such events are refused.
    mail_webhook_secret: SecretStr = SecretStr("")
    #: Another address for Stripe's API (a proxy, or the tests' local fake); empty: Stripe's.
    stripe_api_base: str = ""
    #: Share links (docs/shop.md): which link a visitor keeps when they open several ("first"
    #: or "last"), and how many days the link's cookie lives.
    shop_link_wins: Literal["first", "last"] = "last"
    #: Days a share link's cookie lives.
    shop_link_days: int = Field(default=30, ge=1, le=365)
    #: Flat tax rates in basis points per market or market-region ("US=0,US-CA=725,MX=1600").
    shop_tax_rates: str = ""
    #: The distributor agreement's current version, stored with each acceptance.
    agreement_version: str = "2026-1"
    #: Buy-back (docs/compliance.md): the share of the net price refunded for resaleable
    #: inventory a distributor returns (basis points; the DSA code asks at least 90%).
    buy_back_share_bp: int = Field(default=9000, ge=0, le=10000)
    #: Buy-back: how many days after the order inventory may be returned.
    buy_back_days: int = Field(default=365, ge=0, le=3650)
    #: The cooling-off days in which a new distributor may cancel their enrollment for a full
    #: refund.
    cooling_off_days: int = Field(default=14, ge=0, le=365)
    #: Compliance flags (docs/compliance.md): the least share of a distributor's own purchases
    #: their usual month and their customers' orders must explain (basis points; 7000 = 70%,
    #: the spirit of Amway's rule). The staff page and ``compliance flags --used`` may ask
    #: another share.
    flag_used_share_bp: int = Field(default=7000, ge=0, le=10000)
    #: Compliance flags: refunds of a month's orders within this many days after the month
    #: closed are flagged when the distributor's paid-as rank rose that month.
    flag_refund_days: int = Field(default=30, ge=1, le=365)
    #: Compliance flags: how many accounts sharing one shipping address or one saved card make
    #: a group worth a look (distributors among them are flagged).
    flag_shared_accounts: int = Field(default=2, ge=2, le=100)
    #: Compliance flags: a distributor who bought more than this for themselves in a month
    #: (hundredths of a point; 10000 = 100.00 points) while no customer of theirs ordered is
    #: flagged.
    flag_no_customer_cv: int = Field(default=10000, ge=0)
    #: Compliance flags as payout holds: on, every open flag holds the distributor's payouts
    #: (the flag's reason shown to them) until staff clear it; off (the default), flags act on
    #: nothing.
    flag_holds: bool = False
    #: Whether a new distributor must buy an enrollment pack (else the pack is optional).
    enrollment_pack_required: bool = False

    def pool_options(self) -> dict[str, int]:
        """The connection pool's size for :func:`patronage.db.engine.make_engine`."""
        return {"pool_size": self.db_pool_size, "max_overflow": self.db_max_overflow}

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

    def payout_originator(self) -> Originator:
        """The company as the originator of payout files (from the ``PATRONAGE_PAYOUT_*`` and
        ``PATRONAGE_ACH_*`` settings)."""
        from patronage.payouts.core.files import Originator

        return Originator(self.company_name, iban=self.payout_iban, bic=self.payout_bic,
                          ach_company_id=self.ach_company_id,
                          ach_odfi_routing=self.ach_odfi_routing,
                          ach_destination=self.ach_destination,
                          ach_destination_name=self.ach_destination_name)

    def payout_vault(self) -> Vault:
        """What encrypts payout methods and tax ids: :attr:`payout_keys`, else a key derived
        from the secret key."""
        from patronage.payouts.secrets import Vault

        return Vault(self.payout_keys, secret_key=self.secret_key)

    def tax_thresholds(self) -> tuple[Threshold, ...]:
        """:attr:`tax_1099_thresholds` parsed (refused naming the setting when malformed)."""
        from patronage.payouts.core.tax_forms import parse_thresholds

        return parse_thresholds(self.tax_1099_thresholds)
    def payment_settings(self) -> PaymentSettings:
        """The payment settings, for :func:`patronage.payments.settings.make_gateway` (refused
        with the setting's name when the gateway is unknown or its key missing)."""
        from patronage.payments.settings import PaymentSettings, StripeKeys

        stripe = StripeKeys(self.stripe_secret_key.get_secret_value(),
                            self.stripe_webhook_secret.get_secret_value(),
                            self.stripe_publishable_key, self.stripe_api_base)
        return PaymentSettings(self.payment_gateway.strip().lower(), stripe)

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
