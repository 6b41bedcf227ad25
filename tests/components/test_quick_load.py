"""A model loaded by the quick-load components predicts exactly what Rasa's own loading gives."""

from __future__ import annotations

import asyncio

import pytest
import yaml

NLU = {
    "version": "3.1",
    "nlu": [
        {
            "intent": "ask_price",
            "examples": "- 小米14多少钱\n- 这个多少钱\n- 价格是多少\n- 戴森V12什么价\n- 多少钱一台\n",
        },
        {"intent": "greet", "examples": "- 你好\n- 您好\n- 在吗\n- 有人吗\n- 哈喽\n"},
        {
            "intent": "file_complaint",
            "examples": "- 我要投诉\n- 投诉快递员\n- 东西坏了我要投诉\n- 态度太差了\n- 我要举报\n",
        },
    ],
}
CONFIG = {
    "recipe": "default.v1",
    "assistant_id": "quick-load-test",
    "language": "zh",
    "pipeline": [
        {"name": "JiebaTokenizer"},
        {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 2},
        {
            "name": "components.quick_load.QuickLoadDIETClassifier",
            "epochs": 20,
            "random_seed": 1,
            "entity_recognition": False,
            "constrain_similarities": True,
        },
    ],
}
TEXTS = ["小米14多少钱", "您好", "我要投诉快递", "随便说点什么"]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> str:
    import rasa.model_training

    folder = tmp_path_factory.mktemp("quick-load")
    (folder / "nlu.yml").write_text(yaml.safe_dump(NLU, allow_unicode=True), encoding="utf-8")
    (folder / "config.yml").write_text(yaml.safe_dump(CONFIG, allow_unicode=True), encoding="utf-8")
    return rasa.model_training.train_nlu(
        str(folder / "config.yml"), str(folder / "nlu.yml"), str(folder), fixed_model_name="tiny"
    )


def rankings(model_path: str):
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)

    async def parse_all():
        return [
            [(r["name"], r["confidence"]) for r in (await agent.parse_message(text))["intent_ranking"]]
            for text in TEXTS
        ]

    return asyncio.run(parse_all())


def test_quick_load_predicts_like_rasas_own_loading(model, monkeypatch, caplog):
    import logging

    from rasa.utils.tensorflow.models import RasaModel

    from components.quick_load import QuickLoadDIET

    caplog.set_level(logging.INFO, logger="components.quick_load")
    quick = rankings(model)
    assert "loaded QuickLoadDIET" in caplog.text
    assert [ranking[0][0] for ranking in quick[:3]] == ["ask_price", "greet", "file_complaint"]

    monkeypatch.setattr(QuickLoadDIET, "load", classmethod(RasaModel.load.__func__))  # Rasa's traced build
    naive = rankings(model)
    for ours, theirs in zip(quick, naive, strict=True):
        assert [name for name, _ in ours] == [name for name, _ in theirs]
        assert [c for _, c in ours] == pytest.approx([c for _, c in theirs], abs=1e-5)


def test_predictions_run_as_a_traced_graph(model):
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    diet = next(
        node
        for node in agent.processor.graph_runner._instantiated_nodes.values()
        if type(getattr(node, "_component", None)).__name__ == "QuickLoadDIETClassifier"
    )._component
    assert diet.model.run_eagerly is False and diet.model._tf_predict_step is not None
