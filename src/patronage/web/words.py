"""Words the pages show from stored values (kinds, statuses, channels, occasions, sources).

They are stored in English and shown through the ``translate`` filter; listing them here puts
them in the catalogs. A value not listed is shown as stored.
"""

from __future__ import annotations

from patronage.languages import N_

#: Roles and member kinds.
KINDS = (N_("staff"), N_("distributor"), N_("customer"), N_("retail"), N_("preferred"))
#: Member, autoship, order and touch statuses.
STATUSES = (N_("active"), N_("inactive"), N_("terminated"), N_("erased"), N_("paused"),
            N_("suspended"), N_("cancelled"), N_("paid"), N_("planned"), N_("sent"),
            N_("done"), N_("dropped"), N_("failed"), N_("expired"), N_("none"), N_("delivered"))
#: Consent and touch channels.
CHANNELS = (N_("email"), N_("post"), N_("phone"), N_("sms"), N_("card"), N_("task"))
#: Whom a care rule is for.
AUDIENCES = (N_("all"), N_("customers"), N_("distributors"))
#: Order sources.
SOURCES = (N_("enrollment"), N_("autoship"), N_("one time"), N_("one_time"))
#: Care occasions, as the pages write them (underscores as spaces).
OCCASIONS = (N_("anniversary"), N_("autoship cancelled"), N_("birthday"), N_("first order"),
             N_("holiday"), N_("new contact"), N_("no touch"), N_("order"),
             N_("payment failed"), N_("referral"), N_("survey answered"), N_("testimonial"),
             N_("value at risk"))
#: What the customer portal offers before a cancel (from the autoship service).
SAVE_OFFERS = (N_("pause for a month or two"), N_("swap to another product"),
               N_("change the date"))
#: The seven values, as the radar charts name their spokes.
SEVEN = (N_("consumption"), N_("consistency"), N_("referral"), N_("rainmaker"), N_("feedback"),
         N_("testimonial"), N_("emotional"))
#: Member kinds counted on the company page.
KIND_COUNTS = (N_("distributors"), N_("preferreds"), N_("retails"))
#: Payout batch, payment, adjustment and hold words (patronage.payouts).
PAYOUT_WORDS = (N_("built"), N_("exported"), N_("posted"), N_("pending"), N_("rejected"),
                N_("manual"), N_("returned"))

#: Order sources in plain words (the code ``one_time`` is "one-time order").
SOURCE_WORDS = {"enrollment": N_("enrollment order"), "autoship": N_("autoship order"),
                "one_time": N_("one-time order"), "retail": N_("retail order")}
#: Volume kinds and buyer classes in plain words.
VOLUME_WORDS = {"promotional": N_("promotional"), "consumption": N_("consumption"),
                "customer": N_("customer"), "distributor": N_("distributor")}


def source_word(code: str) -> str:
    """An order source as the pages say it, untranslated (``translate`` it)."""
    return SOURCE_WORDS.get(code, code.replace("_", " "))
#: Why a customer's value is at risk (from the value run's flags).
RISK_REASONS = (N_("payment trouble"), N_("P(alive) falling"), N_("no personal touch lately"))
