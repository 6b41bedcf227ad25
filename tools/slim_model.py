"""Take the optimizer's state out of a trained model archive: `python -m tools.slim_model`.

Rasa saves each TensorFlow model (DIET, the ResponseSelector's, TED) with Keras'
`save_weights`, which writes the Adam optimizer's two moment estimates beside every weight:
two thirds of the checkpoint (the ResponseSelector's 355 MB of 474 MB, DIET's 61 of 91). A
server never trains, yet every Rasa process unpacks them at start (about 2 of its 10 s here,
`python -m tools.cold_start`), and every image carries them.

For each checkpoint in the archive this drops the moments' values and what the checkpoint's
object graph says to read for them, and keeps every other value byte for byte: both zhiyin's quick
load and Rasa's own loading (which builds the optimizer first) restore the same weights, and
the optimizer of a Rasa-loaded model starts from fresh moments as in a new training run. Rasa's
`--finetune` then starts Adam afresh too; zhiyin does not finetune (`make train` retrains).

`make train` runs it after `rasa train` (which writes a new archive every time, from its cache
when nothing changed); an archive without optimizer state is left as it is.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from zhiyin.paths import MODEL_PATH

logger = logging.getLogger(__name__)

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
CHECKPOINT_SUFFIX = ".tf_model"
OPTIMIZER_VARIABLES = "/optimizer/_variables/"


@dataclass
class Slimmed:
    checkpoint: str
    dropped: int  # optimizer moments
    bytes_before: int
    bytes_after: int


def checkpoint_bytes(prefix: Path) -> int:
    return sum(path.stat().st_size for path in prefix.parent.glob(prefix.name + ".*"))


def slim_checkpoint(prefix: Path) -> Optional[Slimmed]:
    """Rewrite the checkpoint at `prefix` without the optimizer's moments; None if it has none."""
    import tensorflow as tf
    from tensorflow.core.protobuf import trackable_object_graph_pb2

    reader = tf.train.load_checkpoint(str(prefix))
    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(reader.get_tensor(OBJECT_GRAPH_KEY))
    # Keras' optimizer (TF 2.11+, Rasa 3.6's) tracks its moments as `optimizer/_variables/<n>`;
    # its step counter and learning rate stay.
    moment_nodes = [
        node
        for node in graph.nodes
        if any(OPTIMIZER_VARIABLES in attribute.checkpoint_key for attribute in node.attributes)
    ]
    if not moment_nodes:
        return None
    dropped_keys = {attribute.checkpoint_key for node in moment_nodes for attribute in node.attributes}
    for node in moment_nodes:
        # The node stays (ids are positions), with nothing to read: a restore leaves it as built.
        del node.attributes[:]
    kept = sorted(key for key in reader.get_variable_to_dtype_map() if key not in dropped_keys | {OBJECT_GRAPH_KEY})
    before = checkpoint_bytes(prefix)
    staged = prefix.parent / "slim" / prefix.name
    staged.parent.mkdir()
    tf.raw_ops.SaveV2(
        prefix=str(staged),
        tensor_names=[*kept, OBJECT_GRAPH_KEY],
        shape_and_slices=[""] * (len(kept) + 1),
        tensors=[*(reader.get_tensor(key) for key in kept), tf.constant(graph.SerializeToString())],
    )
    for old in prefix.parent.glob(prefix.name + ".*"):
        old.unlink()
    for new in staged.parent.iterdir():
        new.rename(prefix.parent / new.name)
    staged.parent.rmdir()
    return Slimmed(str(prefix.relative_to(prefix.parents[2])), len(moment_nodes), before, checkpoint_bytes(prefix))


def slim_archive(archive: Path) -> List[Slimmed]:
    """Slim every TensorFlow checkpoint in a Rasa model archive, in place (the archive is
    replaced only once all of them are rewritten)."""
    with tempfile.TemporaryDirectory(prefix="zhiyin-slim-") as temporary:
        unpacked = Path(temporary) / "model"
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(unpacked, filter="data")
        results = [
            slimmed
            for index in sorted(unpacked.glob(f"components/*/*{CHECKPOINT_SUFFIX}.index"))
            if (slimmed := slim_checkpoint(index.with_suffix(""))) is not None
        ]
        if not results:
            return []
        repacked = Path(temporary) / archive.name
        # As Rasa packs it (LocalModelStorage.create_model_package): the directory as "".
        with tarfile.open(repacked, "w:gz") as tar:
            tar.add(unpacked, arcname="")
        shutil.move(str(repacked), archive)
    return results


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("archive", nargs="?", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)
    if not args.archive.exists():
        print(f"no model at {args.archive}: `make train`", file=sys.stderr)
        return 2
    size_before = args.archive.stat().st_size
    results = slim_archive(args.archive)
    if not results:
        print(f"{args.archive}: no optimizer state, left as it is")
        return 0
    for slimmed in results:
        print(
            f"  {slimmed.checkpoint}: {slimmed.dropped} optimizer moments dropped, "
            f"{slimmed.bytes_before / 2**20:.0f} MB -> {slimmed.bytes_after / 2**20:.0f} MB"
        )
    print(f"{args.archive}: {size_before / 2**20:.0f} MB -> {args.archive.stat().st_size / 2**20:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
