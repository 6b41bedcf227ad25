"""Insight on real data: demo conversations through the real assistant, the report over them,
and consultations pre-labelled by the trained model."""

from __future__ import annotations

import json
import sqlite3

import pytest
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from insight.__main__ import main
from insight.demo import generate
from tests.smoke.stack import MODEL
from zhiyin.tracker_events import rows, tracker_engine

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    (folder / "notes.txt").write_text("not the demo's", encoding="utf-8")
    return generate(folder)


def test_demo_replaces_only_its_own_files(demo):
    assert (demo.tracker_db.parent / "notes.txt").read_text(encoding="utf-8") == "not the demo's"


def test_report_on_demo_data_matches_the_stores(demo, tmp_path, capsys):
    out = tmp_path / "report"
    assert (
        main(
            [
                "report",
                "--tracker-url",
                f"sqlite:///{demo.tracker_db}",
                "--database-url",
                demo.database_url,
                "--out",
                str(out),
            ]
        )
        == 0
    )
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    with sqlite3.connect(demo.tracker_db) as tracker:
        user_events = tracker.execute("SELECT count(*) FROM events WHERE type_name = 'user'").fetchone()[0]
    # Event data is encrypted at rest: read it decrypted, as insight does.
    events = [event for _, _, event in rows(tracker_engine(f"sqlite:///{demo.tracker_db}"))]
    voice = sum(1 for event in events if event.get("event") == "user" and "voice" in (event.get("metadata") or {}))
    with sqlite3.connect(demo.database_url[len("sqlite:///") :]) as database:
        per_kind = dict(database.execute("SELECT kind, count(*) FROM tickets GROUP BY kind").fetchall())
    assert summary["messages"] == user_events > 100
    assert summary["voice_messages"] == voice > 0 and summary["messages_per_channel"]["voice"] == voice
    assert set(summary["messages_per_channel"]) == {"rest", "socketio", "voice"}
    assert summary["tickets_per_kind"] == per_kind and per_kind["complaint"] >= 20
    # the scripted complaints name products of every large brand, through their order numbers
    assert {"华为", "小米", "苹果", "海尔"} <= set(summary["complaints_per_company"])
    topics = summary["topics"]
    assert topics and 2 <= topics["k"] <= 8 and sum(t["size"] for t in topics["topics"]) >= 20
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "13918999723" not in html and "139****9723" in html
    assert f"{summary['messages']} messages" in capsys.readouterr().out


def test_consultations_are_prelabelled_by_the_trained_model(tmp_path, capsys):
    csv_path = tmp_path / "history.csv"
    csv_path.write_text(
        "text,label\n华为Mate60现在卖多少钱呀,\n我的快递到哪儿了呢,\n阿巴阿巴呜啦啦,\n", encoding="utf-8"
    )
    out = tmp_path / "candidates.yml"
    assert main(["import", str(csv_path), "--out", str(out), "--model", str(MODEL)]) == 0
    assert "3 rows: 3 candidates" in capsys.readouterr().out
    examples = RasaYAMLReader().read(str(out)).intent_examples
    by_text = {m.get("text"): m for m in examples}
    assert set(by_text) == {"华为Mate60现在卖多少钱呀", "我的快递到哪儿了呢", "阿巴阿巴呜啦啦"}
    price = by_text["华为Mate60现在卖多少钱呀"]
    assert price.get("intent") == "ask_price" and price.get("metadata")["example"]["confidence"] > 0.5
    assert [(e["entity"], e["value"]) for e in price.get("entities")] == [("product", "华为Mate60")]
    confidences = [m.get("metadata")["example"]["confidence"] for m in examples]
    assert confidences == sorted(confidences)  # least sure first
