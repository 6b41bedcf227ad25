"""Rasa's TensorFlow models — DIET, the ResponseSelector's and TED's — loaded in seconds.

Rasa 3.6 builds a loaded model's weights by running one training step (`RasaModel.load`:
compile, `fit` on one example, `load_weights`, then one `run_inference` to trace prediction).
That step is traced into a graph with gradients, the most expensive graph a model has, only to
be overwritten by the saved weights: on a 2-core CPU it was more than half of the Rasa server's
cold start (TED 6.6 s, the ResponseSelector 3.8 s; `python -m tools.cold_start` shows the phases).

`load_without_training_step` skips it. It calls `load_weights` while no variable exists yet:
TensorFlow then restores each saved value as soon as its variable is created ("deferred
restoration", see tf.train.Checkpoint.restore). The one `run_inference` that Rasa runs anyway
creates every variable prediction uses while it traces the prediction graph, and each takes its
saved value as it is created. Every variable that then exists must have been matched with a saved
value, else this falls back to Rasa's own loading; what only training uses (Adam's slots, the
training-only layers) stays unread in the file. Training is untouched, and the predictions are
Rasa's to 1e-5 (tests/components/test_quick_load.py compares them, on real dialogues for TED).

Why not run that training step eagerly instead (an earlier version did, for DIET): an eager step
takes one branch of each `tf.cond`, so for TED, whose example has no entity or active-loop
features, the layers of the other branch are not built and the optimizer makes fewer slot
variables. Keras saves those slots by position, so `load_weights` finds a (207, 50) value for a
(20, 50) slot and raises ValueError — which `TEDPolicy.load` takes for "no model stored": the
policy came back without a model and predicted all zeros.

How it is wired: `QuickLoadDIETClassifier` (config.yml) uses it through its model class. TED and
the ResponseSelector keep Rasa's class names (new names would retrain the model, and tools find
the selector by name); `install()` points their model classes (`TED`, `DIET2BOW`) at the quick
path. It runs when this module is imported, and Rasa imports it for every zhiyin model before it
builds any component (the model's graph names QuickLoadDIETClassifier), so the server, `rasa
shell`/`test` and the tools all get it, the model already trained included. zhiyin.rasa_cli
cannot import it: zhiyin sits below components (the import contracts in pyproject.toml).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Dict, Optional, Tuple, Type, cast

import tensorflow as tf
from rasa.core.policies.ted_policy import TED
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.diet_classifier import DIET, DIETClassifier
from rasa.nlu.selectors.response_selector import DIET2BOW
from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
from rasa.utils.tensorflow.model_data import RasaModelData
from rasa.utils.tensorflow.models import RasaModel

logger = logging.getLogger(__name__)

RASA_LOAD = RasaModel.load.__func__


def load_without_training_step(
    cls: Type[RasaModel],
    model_file_name: str,
    model_data_example: RasaModelData,
    predict_data_example: Optional[RasaModelData] = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> RasaModel:
    """RasaModel.load, with the weights restored as the prediction graph creates them."""
    config: Dict[str, Any] = kwargs.get("config", {})
    # Fine-tuning trains on (it needs the optimizer's state); an eager model would build its
    # layers one branch at a time; without an example nothing would build them now.
    if finetune_mode or config.get(RUN_EAGERLY) or not predict_data_example:
        return RASA_LOAD(cls, model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs)
    started = time.perf_counter()
    try:
        model = cls(*args, **kwargs)
        model.compile(optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)), run_eagerly=False)
        status = model.load_weights(model_file_name)  # no variable yet: each is restored when created
        # Rasa's models branch with tf.cond, never a Python `if` on a tensor: AutoGraph has nothing
        # to convert, and skipping its source rewriting cuts the trace by 60 % (DIET 3.1 s -> 1.1 s).
        # Were a tensor used as a bool, tracing would raise and Rasa's way (below) would load it.
        model.predict_step = tf.autograph.experimental.do_not_convert(model.predict_step)
        model.run_inference(predict_data_example)  # creates prediction's variables, traces its graph
        status.assert_existing_objects_matched()  # each variable that exists got its saved value
    except Exception as error:  # any: TEDPolicy.load would read a ValueError as "no model stored"
        logger.warning("%s did not load the quick way (%s); loading it Rasa's way", cls.__name__, error)
        return RASA_LOAD(cls, model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs)
    status.expect_partial()  # the optimizer's slots and training-only weights stay in the file
    logger.info("loaded %s in %.1fs", cls.__name__, time.perf_counter() - started)
    return model


class QuickLoadDIET(DIET):
    @classmethod
    def load(
        cls,
        model_file_name: str,
        model_data_example: RasaModelData,
        predict_data_example: Optional[RasaModelData] = None,
        finetune_mode: bool = False,
        *args: Any,
        **kwargs: Any,
    ) -> QuickLoadDIET:
        model = load_without_training_step(
            cls, model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs
        )
        return cast(QuickLoadDIET, model)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=True
)
class QuickLoadDIETClassifier(DIETClassifier):
    """DIETClassifier whose model loads without running a training step."""

    @staticmethod
    def model_class() -> Type[RasaModel]:
        return QuickLoadDIET


# The model classes of Rasa's components that `install` points at the quick path: the ones in
# config.yml, whose predictions the tests compare with Rasa's loading (TED, and the
# ResponseSelector's DIET2BOW). Their subclasses (IntentTED, ...) keep Rasa's own loading.
RASA_MODEL_CLASSES: Tuple[Type[RasaModel], ...] = (TED, DIET2BOW)


def load_if_verified(
    cls: Type[RasaModel],
    model_file_name: str,
    model_data_example: RasaModelData,
    predict_data_example: Optional[RasaModelData] = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> RasaModel:
    """The quick path for the classes in RASA_MODEL_CLASSES, Rasa's own for their subclasses."""
    load = load_without_training_step if cls in RASA_MODEL_CLASSES else RASA_LOAD
    return load(cls, model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs)


QUICK_LOAD = classmethod(load_if_verified)


def install() -> None:
    """Load TED and the ResponseSelector's models without the training step, in this process."""
    for model_class in RASA_MODEL_CLASSES:
        model_class.load = QUICK_LOAD


install()
