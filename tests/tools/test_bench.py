import asyncio

import pytest
from aiohttp import web

from tests.fakes.http import one_route_server
from tools.bench import median_p95, table
from tools.bench.load import answered, drive, parsed
from tools.nlu_eval import pipeline_config


def test_median_and_p95():
    stats = median_p95(list(range(1, 101)))
    assert (stats["median"], stats["p95"], stats["n"]) == (50.5, 95, 100)
    assert median_p95([7.0]) == {"median": 7.0, "p95": 7.0, "n": 1}


def test_markdown_table():
    assert table(["a", "b"], [[1, "x"]]) == "| a | b |\n|---|---|\n| 1 | x |"


def test_load_driver_counts_answers_and_errors():
    """Against a real HTTP server: every third request fails, the rest are timed."""

    async def scenario():
        calls = {"n": 0}

        async def handler(request):
            calls["n"] += 1
            if calls["n"] % 3 == 0:
                return web.json_response({"error": "busy"}, status=503)
            return web.json_response([{"recipient_id": "x", "text": "好的"}])

        async with one_route_server(handler) as url:
            return await drive(
                url, lambda c, t: {"sender": str(c), "message": "你好"}, answered, clients=3, requests_per_client=4
            )

    run = asyncio.run(scenario())
    assert len(run.latencies_ms) == 8 and run.errors == 4 and run.throughput > 0


@pytest.mark.parametrize("payload, ok", [([{"text": "好"}], True), ([], False), ({"error": "x"}, False)])
def test_a_turn_counts_only_when_answered(payload, ok):
    assert answered(payload) is ok


def test_parse_needs_an_intent():
    assert parsed({"intent": {"name": "greet"}}) and not parsed({"error": "x"})


def test_baselines_change_only_the_learners():
    shipped, baseline, intents_only = (pipeline_config(name)["pipeline"] for name in ("diet", "lr+crf", "diet-intents"))
    names = lambda steps: [s["name"].rsplit(".", 1)[-1] for s in steps]  # noqa: E731
    assert "QuickLoadDIETClassifier" in names(shipped)
    at = names(shipped).index("QuickLoadDIETClassifier")
    assert (
        names(baseline)
        == names(shipped)[:at] + ["LogisticRegressionClassifier", "CRFEntityExtractor"] + names(shipped)[at + 1 :]
    )
    diet = next(s for s in intents_only if s["name"].endswith("DIETClassifier"))
    assert diet["entity_recognition"] is False and "CRFEntityExtractor" in names(intents_only)


@pytest.mark.parametrize(
    "ablation, removed",
    [
        ("no-char-ngrams", ["CountVectorsFeaturizer"]),
        ("no-word-counts", ["CountVectorsFeaturizer"]),
        ("no-regex-lexical", ["RegexFeaturizer", "LexicalSyntacticFeaturizer"]),
        ("no-catalog-extractor", ["CatalogEntityExtractor"]),
    ],
)
def test_each_ablation_removes_only_its_features(ablation, removed):
    shipped = [s["name"].rsplit(".", 1)[-1] for s in pipeline_config("diet")["pipeline"]]
    ablated = pipeline_config(ablation)["pipeline"]
    names = [s["name"].rsplit(".", 1)[-1] for s in ablated]
    remaining = list(shipped)
    for name in removed:
        remaining.remove(name)
    assert names == remaining
    counts = [s for s in ablated if s["name"] == "CountVectorsFeaturizer"]
    if ablation == "no-char-ngrams":
        assert all(s.get("analyzer", "word") == "word" for s in counts)
    if ablation == "no-word-counts":
        assert [s.get("analyzer") for s in counts] == ["char_wb"]


def test_no_compared_pipeline_has_the_knowledge_base_selector():
    for name in ("diet", "lr+crf", "no-char-ngrams"):
        names = [s["name"].rsplit(".", 1)[-1] for s in pipeline_config(name)["pipeline"]]
        assert "ResponseSelector" not in names and "RetrievalConfidenceGate" not in names


def test_an_unknown_pipeline_is_refused():
    with pytest.raises(ValueError):
        pipeline_config("no-such-pipeline")


def test_desk_latency_waits_for_the_event_that_shows_the_customer():
    import queue

    from tools.bench import desk

    events = queue.Queue()
    events.put((1.0, {"waiting": [{"sender": "other"}], "mine": [], "others": []}))
    events.put((2.5, {"waiting": [{"sender": "other"}, {"sender": "desk-bench-0"}], "mine": [], "others": []}))
    assert desk.wait_for(events, desk.in_queue("desk-bench-0")) == 2.5
    events.put((3.0, {"transcript": [{"who": "agent", "text": "冰箱还是不制冷"}]}))
    events.put((4.0, {"transcript": [{"who": "customer", "text": "冰箱还是不制冷"}]}))
    assert desk.wait_for(events, desk.said("冰箱还是不制冷")) == 4.0
