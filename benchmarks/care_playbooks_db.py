"""Team playbooks from the database: 10,000 playbooks with their templates, adopted by the
distributors of a million members, loaded and planned.

    .venv/bin/python benchmarks/care_playbooks_db.py --members 1000000 --playbooks 10000

Builds the in-memory facts of ``--members`` members (as ``care_plan.py`` does, not timed),
then, in a scratch SQLite database and a scratch PostgreSQL database (not timed): a member row
for every distributor of the facts (15%, with the same ids), ``--playbooks`` distinct playbooks
(the company's rules with one to three tweaks, ``care_plan.make_playbooks``), each carrying
``--templates`` templates of its own (a birthday email and card, an order thank-you task...),
and one adoption per distributor. Then it times, on each database:

- **load**: reading the adopted playbooks and combining their rules, as the tick does
  (:func:`patronage.care.playbooks.load_playbooks`);
- **templates**: reading the templates of every adopted playbook at once and looking in them
  for the company's forbidden phrases, as a delivery run begins
  (:meth:`patronage.care.playbook_templates.Wording.preload`; a template's text was checked in
  full when written, and is compiled when first rendered);
- **plan**: the planner for one day with those playbooks (the same as ``care_plan.py
  --playbooks``, here fed from the database);

against the company's rules alone, planned in the same run, and reports the total against
the 10 s bar.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

import numpy as np
from care_plan import NOW, build_facts, make_playbooks  # beside this script
from scratch import scratch_database  # beside this script
from sqlalchemy import insert, select

from patronage.care.content import default_templates
from patronage.care.core.planner import plan_touches
from patronage.care.core.rules import load_rules
from patronage.care.playbook_templates import Wording
from patronage.care.playbooks import encode, load_playbooks
from patronage.compliance.core.claims import BUILT_IN
from patronage.db.care_playbooks import Adoption, Playbook, PlaybookTemplate
from patronage.db.engine import make_engine, transaction
from patronage.db.schema import upgrade
from patronage.db.tables import Member

AT = datetime(2026, 1, 1, tzinfo=UTC)
WORDINGS = (
    ("birthday", "email", "Many happy returns, {{ member.first_name }}!",
     "Thinking of you today, {{ member.first_name }}.\n{{ signer }}"),
    ("birthday", "card", "Happy birthday!", "Dear {{ member.first_name }}, have a lovely day.\n"
                                            "{{ signer }}"),
    ("order", "task", None, "Call {{ member.first_name }} to thank them ({{ summary }})"),
    ("anniversary", "card", "A year together", "Thank you, {{ member.first_name }}!"),
)
CHUNK = 20_000


def _chunks(rows: list[dict[str, object]]) -> list[list[dict[str, object]]]:
    return [rows[i:i + CHUNK] for i in range(0, len(rows), CHUNK)]


def fill(url: str, distributors: np.ndarray, books: list[str], templates: int,
         seed: int = 4) -> None:
    engine = make_engine(url)
    upgrade(engine)
    rng = np.random.default_rng(seed)
    t = time.perf_counter()
    members = [{"id": int(m), "kind": "distributor", "first_name": f"D{m}", "joined_at": AT}
               for m in distributors.tolist()]
    with engine.begin() as conn:
        for part in _chunks(members):
            conn.execute(insert(Member), part)
        conn.execute(insert(Playbook), [
            {"id": i + 1, "author_id": int(distributors[i % distributors.shape[0]]),
             "name": f"Playbook {i + 1}", "rules": text, "version": 1, "shared": True,
             "created_at": AT, "updated_at": AT} for i, text in enumerate(books)])
        rows = [{"playbook_id": i + 1, "occasion": o, "channel": c, "title": title,
                 "body": f"{body} ({i + 1})", "updated_at": AT}
                for i in range(len(books))
                for o, c, title, body in WORDINGS[:templates]]
        for part in _chunks(rows):
            conn.execute(insert(PlaybookTemplate), part)
        adopted = rng.integers(1, len(books) + 1, distributors.shape[0])
        for part in _chunks([{"member_id": int(m), "playbook_id": int(b), "adopted_at": AT}
                             for m, b in zip(distributors.tolist(), adopted.tolist(),
                                             strict=True)]):
            conn.execute(insert(Adoption), part)
    print(f"  filled: {len(members):,} distributors, {len(books):,} playbooks, "
          f"{len(books) * templates:,} templates, {len(members):,} adoptions in "
          f"{time.perf_counter() - t:.0f} s", flush=True)
    engine.dispose()


def measure(kind: str, url: str, facts: object, repeat: int) -> None:
    from patronage.care.core.facts import CareFacts

    assert isinstance(facts, CareFacts)
    rules = load_rules()
    engine = make_engine(url)
    best: dict[str, float] = {}
    for _ in range(repeat):
        times: dict[str, float] = {}
        t = time.perf_counter()
        plan_touches(NOW, facts, rules)
        times["company's rules alone, planned"] = time.perf_counter() - t
        t = time.perf_counter()
        with engine.connect() as conn:
            adopted = load_playbooks(conn, rules)
        assert adopted is not None
        times["load and combine the playbooks"] = time.perf_counter() - t
        t = time.perf_counter()
        with transaction(engine) as s:
            wording = Wording(default_templates(), BUILT_IN)
            wording.preload(s)
            ids = list(s.scalars(select(Playbook.id).order_by(Playbook.id)))
            kept = sum(len(wording.held(s, i)) for i in ids)
        times["read and check every playbook's templates"] = time.perf_counter() - t
        t = time.perf_counter()
        plan = plan_touches(NOW, facts, rules, playbooks=adopted.for_members(facts.member_id))
        times["plan one day with the playbooks"] = time.perf_counter() - t
        for k, v in times.items():
            best[k] = min(best.get(k, float("inf")), v)
    total = sum(v for k, v in best.items() if not k.startswith("company"))
    print(f"{kind}: {len(ids):,} playbooks ({len(adopted.rules.active)} distinct rules), "
          f"{kept:,} templates kept, {plan.rule.shape[0]:,} touches considered", flush=True)
    for k, v in best.items():
        print(f"  {k}: {v:.2f} s (best of {repeat})")
    print(f"  total with playbooks (load + templates + plan): {total:.2f} s "
          f"({'within' if total <= 10 else 'OVER'} the 10 s bar)", flush=True)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--playbooks", type=int, default=10_000)
    parser.add_argument("--templates", type=int, default=2, choices=range(0, len(WORDINGS) + 1),
                        help="Templates each playbook carries.")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    t = time.perf_counter()
    facts = build_facts(args.members)
    distributors = facts.member_id[facts.kind == 2]
    rules = load_rules()
    books = [encode(b) for b in make_playbooks(rules, args.playbooks)]
    print(f"facts for {args.members:,} members ({distributors.shape[0]:,} distributors) and "
          f"{len(books):,} playbooks built in {time.perf_counter() - t:.0f} s", flush=True)
    for kind in ("sqlite",) if args.skip_postgres else ("sqlite", "postgresql"):
        with scratch_database(kind) as url:
            fill(url, distributors, books, args.templates)
            measure(kind, url, facts, args.repeat)


if __name__ == "__main__":
    main()
