"""A model loaded by components.quick_load predicts exactly what Rasa's own loading gives.

DIET and the ResponseSelector are compared on a small NLU model trained here; TED on a TED
trained here with config.yml's settings, the real domain and the real stories (its loading
depends on which features the stored example has), over every action of the test stories.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np
import pytest
import yaml

from zhiyin.paths import PROJECT_ROOT

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
        {"intent": "faq/invoice", "examples": "- 能开发票吗\n- 发票怎么开\n- 可以开专票吗\n"},
        {"intent": "faq/hours", "examples": "- 客服几点上班\n- 你们几点下班\n- 周末有人吗\n"},
    ],
    "responses": {
        "utter_faq/invoice": [{"text": "可以开发票。"}],
        "utter_faq/hours": [{"text": "客服 9:00-21:00 在线。"}],
    },
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
        {"name": "ResponseSelector", "retrieval_intent": "faq", "epochs": 20, "random_seed": 1},
    ],
}
TEXTS = ["小米14多少钱", "您好", "我要投诉快递", "发票能开吗", "几点下班", "随便说点什么"]
TED_EPOCHS = 2  # the architecture is what loading depends on, not how well it learned


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> str:
    import rasa.model_training

    folder = tmp_path_factory.mktemp("quick-load")
    (folder / "nlu.yml").write_text(yaml.safe_dump(NLU, allow_unicode=True), encoding="utf-8")
    (folder / "config.yml").write_text(yaml.safe_dump(CONFIG, allow_unicode=True), encoding="utf-8")
    return rasa.model_training.train_nlu(
        str(folder / "config.yml"), str(folder / "nlu.yml"), str(folder), fixed_model_name="tiny"
    )


def rasas_own_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every model class back on RasaModel.load (the traced training step) for this test."""
    from components import quick_load

    for model_class in (*quick_load.RASA_MODEL_CLASSES, quick_load.QuickLoadDIET):
        monkeypatch.setattr(model_class, "load", classmethod(quick_load.RASA_LOAD))


def parses(model_path: str) -> List[Dict[str, Any]]:
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)

    async def parse_all() -> List[Dict[str, Any]]:
        return [await agent.parse_message(text) for text in TEXTS]

    return asyncio.run(parse_all())


def rankings(parse: Dict[str, Any]) -> List[Tuple[str, float]]:
    """The intent ranking, then the response selector's, as (name, confidence)."""
    ranking = [(r["name"], r["confidence"]) for r in parse["intent_ranking"]]
    selector = parse["response_selector"]["faq"]["ranking"]
    return ranking + [(r["intent_response_key"], r["confidence"]) for r in selector]


def test_quick_load_predicts_like_rasas_own_loading(model, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="components.quick_load")
    quick = parses(model)
    assert "loaded QuickLoadDIET" in caplog.text and "loaded DIET2BOW" in caplog.text
    assert "Rasa's way" not in caplog.text
    assert [parse["intent"]["name"] for parse in quick[:3]] == ["ask_price", "greet", "file_complaint"]
    assert quick[3]["response_selector"]["faq"]["response"]["intent_response_key"] == "faq/invoice"

    rasas_own_loading(monkeypatch)
    naive = parses(model)
    for ours, theirs in zip(quick, naive, strict=True):
        assert [name for name, _ in rankings(ours)] == [name for name, _ in rankings(theirs)]
        assert [c for _, c in rankings(ours)] == pytest.approx([c for _, c in rankings(theirs)], abs=1e-5)


def test_predictions_run_as_a_traced_graph(model):
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    assert agent.processor is not None
    components = [
        getattr(node, "_component", None) for node in agent.processor.graph_runner._instantiated_nodes.values()
    ]
    models = [c.model for c in components if type(c).__name__ in ("QuickLoadDIETClassifier", "ResponseSelector")]
    assert len(models) == 2
    for loaded in models:
        assert loaded.run_eagerly is False and loaded._tf_predict_step is not None


# --- TED ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def domain():
    from rasa.shared.core.domain import Domain

    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


def story_trackers(domain, path: Path) -> List[Any]:
    from rasa.shared.core.generator import TrainingDataGenerator
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.core.training_data.structures import StoryGraph

    steps = YAMLStoryReader(domain).read_from_file(str(path))
    generator = TrainingDataGenerator(
        StoryGraph(steps), domain, augmentation_factor=0, remove_duplicates=False, use_story_concatenation=False
    )
    return list(generator.generate_story_trackers())


@pytest.fixture(scope="module")
def dialogue_states(domain) -> List[Any]:
    """The test stories cut before each action they predict (after the session start)."""
    from rasa.shared.core.events import ActionExecuted
    from rasa.shared.core.trackers import DialogueStateTracker

    states = []
    for tracker in story_trackers(domain, PROJECT_ROOT / "tests" / "test_stories.yml"):
        events = list(tracker.events)
        for index, event in enumerate(events):
            if index > 2 and isinstance(event, ActionExecuted):
                states.append(DialogueStateTracker.from_events(tracker.sender_id, events[:index], domain.slots))
    assert len(states) > 100
    return states


@pytest.fixture(scope="module")
def ted(tmp_path_factory, domain) -> Dict[str, Any]:
    """A TEDPolicy trained on data/stories with config.yml's TED settings, persisted."""
    from rasa.core.policies.ted_policy import TEDPolicy
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    settings = next(
        p for p in yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())["policies"] if p["name"] == "TEDPolicy"
    )
    config = {
        **TEDPolicy.get_default_config(),
        **{k: v for k, v in settings.items() if k != "name"},
        "epochs": TED_EPOCHS,
    }
    storage = LocalModelStorage(tmp_path_factory.mktemp("ted"))
    resource = Resource("ted")
    context = ExecutionContext(GraphSchema({}), "quick-load-test")
    trackers = [
        t for path in sorted((PROJECT_ROOT / "data" / "stories").glob("*.yml")) for t in story_trackers(domain, path)
    ]
    TEDPolicy.create(config, storage, resource, context).train(trackers, domain)
    return {"config": config, "model_storage": storage, "resource": resource, "execution_context": context}


def load_ted(ted: Dict[str, Any]) -> Any:
    from rasa.core.policies.ted_policy import TEDPolicy

    return TEDPolicy.load(**ted)


def probabilities(policy, states, domain) -> np.ndarray:
    return np.array([policy.predict_action_probabilities(state, domain).probabilities for state in states])


def effective_weights(checkpoint: str) -> Dict[str, np.ndarray]:
    """A checkpoint's model variables by path (names repeat; paths do not), without the
    optimizer's, each masked kernel times its mask: RandomlyConnectedDense zeroes the masked-out
    entries of its kernel whenever it runs, so those entries are whatever training or the last
    call left there and no prediction reads them."""
    import tensorflow as tf

    weights = {
        key: tf.train.load_variable(checkpoint, key)
        for key, _ in tf.train.list_variables(checkpoint)
        if key.startswith("model/") and not key.startswith("model/optimizer")
    }
    for key, value in weights.items():
        mask = weights.get(key.replace("/kernel/", "/kernel_mask/"))
        if "/kernel/" in key and mask is not None:
            weights[key] = value * mask
    return weights


def saved_weights(model: Any, folder: Path) -> Dict[str, np.ndarray]:
    """What a loaded model holds: effective_weights of it saved again."""
    model.save_weights(str(folder / "weights"))
    return effective_weights(str(folder / "weights"))


@pytest.fixture(scope="module")
def rasas_ted(ted, dialogue_states, domain, tmp_path_factory) -> Dict[str, Any]:
    """TED loaded Rasa's way: its predictions and its weights."""
    from rasa.core.policies.ted_policy import TED

    from components.quick_load import RASA_LOAD

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TED, "load", classmethod(RASA_LOAD))
        policy = load_ted(ted)
    return {
        "probabilities": probabilities(policy, dialogue_states, domain),
        "weights": saved_weights(policy.model, tmp_path_factory.mktemp("rasas-ted")),
    }


def test_ted_predicts_like_rasas_own_loading(ted, rasas_ted, dialogue_states, domain, caplog):
    caplog.set_level(logging.INFO, logger="components.quick_load")
    policy = load_ted(ted)
    assert "loaded TED" in caplog.text and "Rasa's way" not in caplog.text
    ours = probabilities(policy, dialogue_states, domain)
    theirs = rasas_ted["probabilities"]
    assert ours.shape == theirs.shape == (len(dialogue_states), domain.num_actions)
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)
    assert (ours.argmax(axis=1) == theirs.argmax(axis=1)).all()


def test_ted_restores_every_weight_rasa_restores(ted, rasas_ted, tmp_path):
    policy = load_ted(ted)
    ours = saved_weights(policy.model, tmp_path)
    assert ours.keys() == rasas_ted["weights"].keys()
    stored = effective_weights(str(ted["model_storage"]._storage_path / ted["resource"].name / "ted_policy.tf_model"))
    for key, value in ours.items():
        np.testing.assert_array_equal(value, rasas_ted["weights"][key], err_msg=key)
        np.testing.assert_array_equal(value, stored[key], err_msg=key)


def test_ted_predicts_something(ted, dialogue_states, domain):
    """The failure this module once had: a TED without its model predicts 0 for every action."""
    policy = load_ted(ted)
    assert policy.model is not None
    sums = probabilities(policy, dialogue_states, domain).sum(axis=1)
    np.testing.assert_allclose(sums, 1.0, atol=1e-4)


def test_ted_falls_back_to_rasas_loading_when_the_quick_way_fails(
    ted, rasas_ted, dialogue_states, domain, monkeypatch, caplog
):
    """An error in the quick path must not reach TEDPolicy.load, which reads a ValueError as
    "no model stored" and returns a TED that predicts nothing."""
    import tensorflow as tf

    def broken(function: Any) -> Any:
        raise ValueError("simulated")

    monkeypatch.setattr(tf.autograph.experimental, "do_not_convert", broken)
    caplog.set_level(logging.WARNING, logger="components.quick_load")
    policy = load_ted(ted)
    assert "TED did not load the quick way (simulated)" in caplog.text
    np.testing.assert_allclose(
        probabilities(policy, dialogue_states, domain), rasas_ted["probabilities"], atol=1e-5, rtol=0
    )


def test_install_covers_ted_and_the_selectors_model_only(monkeypatch):
    from rasa.core.policies.ted_policy import TED
    from rasa.core.policies.unexpected_intent_policy import IntentTED
    from rasa.nlu.selectors.response_selector import DIET2BOW

    from components import quick_load

    assert quick_load.RASA_MODEL_CLASSES == (TED, DIET2BOW)
    for model_class in quick_load.RASA_MODEL_CLASSES:
        assert model_class.__dict__["load"] is quick_load.QUICK_LOAD
    calls = []
    monkeypatch.setattr(quick_load, "RASA_LOAD", lambda cls, *args, **kwargs: calls.append(("rasa", cls)))
    monkeypatch.setattr(quick_load, "load_without_training_step", lambda cls, *a, **k: calls.append(("quick", cls)))
    TED.load("weights", None)
    IntentTED.load("weights", None)  # a subclass nobody compared: Rasa's own loading
    assert calls == [("quick", TED), ("rasa", IntentTED)]
