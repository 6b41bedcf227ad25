"""A DIET classifier that loads in seconds instead of most of a minute.

Rasa 3.6 builds a loaded TensorFlow model's weights by running one training step
(`RasaModel.load`: compile, `fit` on one example, then `load_weights`). That step is traced
into a graph with gradients, the most expensive graph the model has, only to be thrown away:
on a 2-core CPU it is most of the Rasa server's cold start. This subclass takes the same
step eagerly (no tracing; the weights it produces are overwritten by `load_weights` anyway),
then switches back to graph mode, so predictions still run as a traced `tf.function`. Training
is untouched; a model trained with this class is the same model.

TED is not treated this way: an eagerly built TED leaves some of its layers uncreated, so
their saved weights are never restored and it predicts nothing (its action probabilities all
come out 0). tests/components/test_quick_load.py compares DIET's predictions with Rasa's own
loading; TEDPolicy stays Rasa's.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Optional, Type

import tensorflow as tf
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.diet_classifier import DIET, DIETClassifier
from rasa.utils.tensorflow.model_data import RasaModelData
from rasa.utils.tensorflow.models import RasaModel

logger = logging.getLogger(__name__)


def load_eagerly_built(
    cls: Type[RasaModel],
    model_file_name: str,
    model_data_example: RasaModelData,
    predict_data_example: Optional[RasaModelData],
    finetune_mode: bool,
    *args: Any,
    **kwargs: Any,
) -> RasaModel:
    """RasaModel.load, with the weight-building step run eagerly instead of traced."""
    if finetune_mode:  # fine-tuning trains on: keep Rasa's own path
        return super(cls, cls).load(
            model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs
        )
    from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator

    started = time.perf_counter()
    model = cls(*args, **kwargs)
    learning_rate = kwargs.get("config", {}).get("learning_rate", 0.001)
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), run_eagerly=True)
    model.fit(RasaBatchDataGenerator(model_data_example, batch_size=1), verbose=False)
    model.load_weights(model_file_name)
    model.run_eagerly = bool(kwargs.get("config", {}).get("run_eagerly", False))
    if predict_data_example:
        model.run_inference(predict_data_example)  # traces the prediction graph once, now
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
        return load_eagerly_built(
            cls, model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs
        )


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=True
)
class QuickLoadDIETClassifier(DIETClassifier):
    """DIETClassifier whose model loads without tracing a training step."""

    @staticmethod
    def model_class() -> Type[RasaModel]:
        return QuickLoadDIET
