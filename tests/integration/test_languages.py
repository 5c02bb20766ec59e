"""A Spanish-speaking customer gets Spanish messages and pages; a viewer's language is chosen
from their member, their choice on the account page or their browser."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from patronage import audit
from patronage.care.channels.cards import export_cards
from patronage.care.content import build_context, default_templates
from patronage.care.deliver import deliver_due
from patronage.care.links import make_token
from patronage.config import Settings
from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.db.tables import Member
from tests.e2e.world import EMAILS, NOW, SECRET, World, app_for, csrf_of, seed, sign_in
from tests.fixtures.care_data import customer, distributor, touch
from tests.integration.test_care_delivery_email import Smtp, settings_for

pytestmark = pytest.mark.storage
BIRTHDAY = datetime(2026, 10, 20, 14, 0, tzinfo=UTC)


@pytest.fixture
def mail() -> Iterator[Smtp]:
    server = Smtp()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _spanish_customer(engine: Engine, channel: str) -> tuple[int, int]:
    with transaction(engine) as s:
        dana = distributor(s)
        lucia = customer(s, dana, "Lucía", email="lucia@example.com", locale="es-MX",
                         country="MX", city="Guadalajara",
                         region="JAL", postal_code="44100", address_line1="Av. Juárez 12")
        tid = touch(s, lucia, dana, channel=channel, template="birthday", due_at=BIRTHDAY)
    return lucia, tid


def test_a_spanish_speaking_customer_gets_a_spanish_birthday_email(engine: Engine,
                                                                   mail: Smtp) -> None:
    cfg = settings_for(mail)
    _, tid = _spanish_customer(engine, "email")
    with transaction(engine) as s:
        english = customer(s, distributor(s, "Eve"), "Sally")
        other = touch(s, english, None, channel="email", template="birthday", due_at=BIRTHDAY)

    report = deliver_due(engine, BIRTHDAY, settings=cfg)

    assert sorted(report.sent) == sorted([tid, other]), report
    by_subject = {m["Subject"]: m.get_content().replace("\r\n", "\n") for m in mail.messages}
    body = by_subject["¡Feliz cumpleaños, Lucía!"]
    assert body.startswith("Hola, Lucía:\n\n¡Feliz cumpleaños! Espero que tu día")
    assert "\nDana\n" in body
    assert "Recibes esta nota como miembro de Acme Wellness." in body
    assert "Deja de recibir estos correos con un clic: https://care.acme.example/u/" in body
    english_body = by_subject["Happy birthday, Sally!"]
    assert english_body.startswith("Dear Sally,\n\nHappy birthday!") and "\nEve\n" in english_body


def test_a_spanish_speaking_customer_gets_a_spanish_birthday_card(engine: Engine,
                                                                  tmp_path: Path) -> None:
    cfg = settings_for(Smtp())
    lucia, tid = _spanish_customer(engine, "card")
    with transaction(engine) as s:
        row = s.get(Touch, tid)
        assert row is not None
        card = default_templates().card(row.template, build_context(s, row, BIRTHDAY,
                                                                    settings=cfg))
    assert card.front == "¡Feliz cumpleaños!"
    assert card.inside == ("Hola, Lucía:\n"
                           "te deseo un cumpleaños maravilloso y un año lleno de cosas buenas.\n"
                           "Gracias por ser parte de mi vida.\n\nDana")

    batch = export_cards(engine, BIRTHDAY, tmp_path, settings=cfg)  # the accents print

    assert batch.touch_ids == [tid] and not batch.failed and batch.path is not None
    with transaction(engine) as s:
        assert s.scalar(select(Touch.status).where(Touch.id == tid)) == "sent"
        s.get(Member, lucia).locale = "fr-FR"  # type: ignore[union-attr]
        card = default_templates().card(row.template, build_context(s, row, BIRTHDAY,
                                                                    settings=cfg))
    assert card.front == "Joyeux anniversaire !"


@pytest.fixture
def world(engine: Engine) -> World:
    found = seed(engine)
    with transaction(engine) as s:
        cory = s.get(Member, found.cory)
        assert cory is not None
        cory.locale = "es-MX"
    return found


def _client(engine: Engine, role: str | None = None,
            headers: dict[str, str] | None = None) -> TestClient:
    client = TestClient(app_for(engine), headers=headers)
    if role:
        assert sign_in(client, EMAILS[role]).status_code == 303
    return client


def test_a_spanish_speaking_customer_sees_spanish_pages(engine: Engine, world: World) -> None:
    cory = _client(engine, "customer", headers={"Accept-Language": "en-US"})
    page = cory.get("/me").text
    assert '<html lang="es">' in page
    assert "Hola, Cory" in page and "Mi autoenvío" in page and "Mi cuenta" in page
    assert "10 de noviembre de 2026" in page  # the next delivery, as Mexico writes dates
    assert "Omitir la próxima entrega" in page and "My autoship" not in page
    skipped = cory.post(f"/me/autoship/{world.cory_sub}/skip",
                        data={"csrf_token": csrf_of(page)})
    assert "Omitido. La fecha de tu próxima entrega está abajo." in skipped.text
    assert "Tu cuenta" in cory.get("/account").text

    zoe = _client(engine, "other_customer")  # English, the default
    assert "My autoship" in zoe.get("/me").text


def test_a_refusal_speaks_the_viewers_language(engine: Engine, world: World) -> None:
    """A service's refusal is shown in the viewer's language, its dates in the locale's format;
    the same refusal reads in English for an English speaker and in the API."""
    cory = _client(engine, "customer", headers={"Accept-Language": "en-US"})
    csrf = csrf_of(cory.get("/me").text)
    undo = cory.post(f"/me/autoship/{world.cory_sub}/undo-skip", data={"csrf_token": csrf},
                     headers={"HX-Request": "true"})
    assert undo.status_code == 409
    assert "deshacer salto: no hay ningún salto que deshacer" in undo.text
    assert "there is no skip to undo" not in undo.text
    pause = cory.post(f"/me/autoship/{world.cory_sub}/pause",
                      data={"csrf_token": csrf, "until": "2026-01-02"},
                      headers={"HX-Request": "true"})
    assert pause.status_code == 400
    assert "pausar hasta: 2 ene 2026 no es una fecha futura" in pause.text

    zoe = _client(engine, "other_customer")
    csrf = csrf_of(zoe.get("/me").text)
    undo = zoe.post(f"/me/autoship/{world.zoe_sub}/undo-skip", data={"csrf_token": csrf},
                    headers={"HX-Request": "true"})
    assert "undo skip: there is no skip to undo" in undo.text


def test_pages_behind_a_members_link_speak_the_members_language(engine: Engine,
                                                                 world: World) -> None:
    browser = _client(engine)
    token = make_token("survey", world.cory, NOW, secret=SECRET)
    page = browser.get(f"/s/{token}").text
    assert "¿Cómo podemos atenderte mejor?" in page and "Enviar" in page
    zoe_token = make_token("survey", world.zoe, NOW, secret=SECRET)
    assert "How can we serve you better?" in browser.get(f"/s/{zoe_token}").text


def test_anonymous_pages_follow_the_browsers_language(engine: Engine, world: World) -> None:
    assert "Iniciar sesión" in _client(engine, headers={"Accept-Language": "es-MX,es;q=0.9"}) \
        .get("/login").text
    assert "Se connecter" in _client(engine, headers={"Accept-Language": "fr"}).get("/login").text
    german = _client(engine, headers={"Accept-Language": "de"}).get("/login").text
    assert "Sign in" in german and '<html lang="en">' in german
    spanish = _client(engine, headers={"Accept-Language": "es"})
    wrong = sign_in(spanish, EMAILS["customer"], password="not the password")
    assert "Ese correo y esa contraseña no corresponden a una cuenta activa." in wrong.text


def test_the_language_switch_stores_the_choice(engine: Engine, world: World) -> None:
    ann = _client(engine, "distributor")
    account = ann.get("/account").text
    assert "Language" in account and '<option value="es" ' in account
    chosen = ann.post("/account/language",
                      data={"language": "es", "csrf_token": csrf_of(account)})
    assert chosen.status_code == 200 and "Tu idioma está guardado." in chosen.text
    with transaction(engine) as s:
        assert s.get(Member, world.ann).locale == "es-US"  # type: ignore[union-attr]
        [entry] = audit.recent(s, action="member.language")
        assert entry.detail == "language en-US -> es-US"
    today = ann.get("/today").text
    assert "Vale la pena hoy" in today and "Mis clientes" in today
    assert "1 por hacer" in today
    cory = ann.get(f"/customers/{world.cory}").text
    assert "Próximo contacto" in cory and "jue oct 15" in cory  # as Spanish writes the day
    business = ann.get("/business").text
    assert "Período abierto 2026-10" in business and "Calcular mi proyección" in business
    projection = ann.get("/business/projection", params={"period": "2026-09"}).text
    assert "Boleta de rango: pagado como" in projection and "volumen personal (PV)" in projection

    bad = ann.post("/account/language", data={"language": "xx",
                                              "csrf_token": csrf_of(account)})
    assert bad.status_code == 400
    assert "language: &#39;xx&#39; is not one of en, es, fr" in bad.text
    forged = ann.post("/account/language", data={"language": "en", "csrf_token": "nope"})
    assert forged.status_code == 403
    with transaction(engine) as s:
        assert s.get(Member, world.ann).locale == "es-US"  # type: ignore[union-attr]

    staff = _client(engine, "staff")
    page = staff.get("/account").text
    french = staff.post("/account/language", data={"language": "fr", "csrf_token": csrf_of(page)})
    assert "Votre langue est enregistrée." in french.text
    assert staff.cookies.get("patronage_lang") == "fr"
    assert "Se déconnecter" in staff.get("/company").text


def test_a_task_speaks_the_language_of_the_distributor_who_reads_it(engine: Engine) -> None:
    from patronage.care.tasks import task_line

    with transaction(engine) as s:
        dana = distributor(s)
        lucia = customer(s, dana, "Lucía", locale="es-MX")
        for_dana = touch(s, lucia, dana, channel="task", template="birthday", due_at=BIRTHDAY)
        sofia = distributor(s, "Sofía", locale="es-MX")
        sam = customer(s, sofia, "Sam")
        for_sofia = touch(s, sam, sofia, channel="task", template="anniversary",
                          due_at=BIRTHDAY)
    with transaction(engine) as s:
        lines = {t: task_line(s, s.get(Touch, t), BIRTHDAY, settings=Settings())  # type: ignore[arg-type]
                 for t in (for_dana, for_sofia)}
    assert lines[for_dana] == "Call Lucía Smith today: birthday"
    assert lines[for_sofia] == "Llama a Sam Smith: hoy cumple 2 años con nosotros"


def test_commission_explanations_speak_the_readers_language(engine: Engine,
                                                             world: World) -> None:
    from patronage.clock import Period
    from patronage.compensation.reports import explain_member, rank_card
    from patronage.languages import use_locale

    english = explain_member(engine, world.ann, Period(2026, 9))
    with use_locale("es-MX"):
        spanish = explain_member(engine, world.ann, Period(2026, 9))
        _, _, requirements = rank_card(engine, world.ann, Period(2026, 9))
    assert english[0].startswith("Ann ") and " in 2026-09: PV " in english[0]
    assert " en 2026-09: PV " in spanish[0] and "pagado como" in spanish[0]
    assert len(spanish) == len(english) > 1
    assert any(" de " in line and "=" in line for line in spanish[1:])
    assert requirements[0].name == "volumen personal (PV)"
