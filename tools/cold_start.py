"""Where the Rasa server's cold start goes: `python -m tools.cold_start`.

In-process (default): loads the model the way `rasa run` does (rasa.core.agent.load_agent with the
model path, after the imports `rasa run` makes) and prints a table of phases in seconds, with
the process's RSS after each: the interpreter, the imports, unpacking the archive, each graph
node's load (its TensorFlow steps — construct, the weight-building `fit`, `load_weights`, the
first traced `run_inference` — shown beneath it), then the first NLU parse and policy
prediction, which a server pays on its first turn, not before it is healthy. Before it is
healthy the server also builds its input channels (credentials.yml): the voice channel loads
Whisper, shown last. JAX is kept out as zhiyin.rasa_cli keeps it out (zhiyin.lean_process;
`--with-jax` lets it in, for comparison). The phases are taken by wrapping the functions named
in the table, so nothing here changes what is loaded or how.

`--server`: starts the action server and the Rasa server the way `make run` does (zhiyin.serve,
isolated data in a temporary directory) `--runs` times and prints the seconds from start until
the Rasa server answered `/` (the model is loaded before it serves), with the median.

`--rasa-loading` (in-process): every TensorFlow model (DIET, the ResponseSelector's, TED) loads
through Rasa's own `RasaModel.load`, the traced training step, instead of zhiyin's quick path
(components/quick_load.py): the figures Rasa alone would give, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import os
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Type

from tools.bench import rss_mb
from zhiyin.lean_process import keep_jax_out
from zhiyin.paths import MODEL_PATH, PROJECT_ROOT

STARTED = time.perf_counter()


def process_age() -> float:
    """Seconds since this process started (Linux /proc), 0.0 where that cannot be read."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


@dataclass
class Phases:
    """Top-level phases in order, and named sub-steps (seconds) under the graph node running them."""

    rows: List[Tuple[str, float, float]] = field(default_factory=list)  # name, seconds, RSS MB after
    steps: Dict[str, List[Tuple[str, float]]] = field(default_factory=dict)
    current_node: Optional[str] = None

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - started)

    def add(self, name: str, seconds: float) -> None:
        self.rows.append((name, seconds, rss_mb(os.getpid())))

    def wrap_step(self, owner: Any, attribute: str, label: str) -> None:
        """Time `owner.attribute` (a function or classmethod) as sub-step `label` of the current node."""
        original = owner.__dict__[attribute]
        is_classmethod = isinstance(original, classmethod)
        function: Callable[..., Any] = original.__func__ if is_classmethod else original
        phases = self

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if phases.current_node is None:
                return function(*args, **kwargs)
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                phases.steps.setdefault(phases.current_node, []).append((label, time.perf_counter() - started))

        setattr(owner, attribute, classmethod(timed) if is_classmethod else timed)

    def wrap_nodes(self) -> None:
        """Time each graph node's component load under the node's name."""
        from rasa.engine.graph import GraphNode

        original = GraphNode._load_component
        phases = self

        @functools.wraps(original)
        def timed(node: GraphNode, **kwargs: Any) -> None:
            phases.current_node = f"{node._node_name} ({node._component_class.__name__})"
            try:
                with phases.phase(phases.current_node):
                    original(node, **kwargs)
            finally:
                phases.current_node = None

        GraphNode._load_component = timed

    def table(self, before_main: float) -> str:
        lines = [f"{'phase':<78} {'seconds':>8} {'cumulative':>10} {'RSS MB':>7}"]
        cumulative = before_main
        lines.append(f"{'interpreter start-up and this tool':<78} {before_main:>8.2f} {cumulative:>10.2f}")
        for name, seconds, rss in self.rows:
            first_turn = name.startswith("first ") or name.startswith("second ")
            if not first_turn:
                cumulative += seconds
            lines.append(f"{name:<78} {seconds:>8.2f} {'' if first_turn else f'{cumulative:.2f}':>10} {rss:>7.0f}")
            totals: Dict[str, float] = {}
            for label, step in self.steps.get(name, []):
                totals[label] = totals.get(label, 0.0) + step
            for label, step in totals.items():
                lines.append(f"{'    ' + label:<78} {step:>8.2f}")
        return "\n".join(lines)


def use_rasas_own_loading() -> None:
    """Undo components.quick_load for this process: each model class loads through RasaModel.load."""
    from rasa.utils.tensorflow.models import RasaModel

    from components import quick_load

    model_classes: Tuple[Type[RasaModel], ...] = (*quick_load.RASA_MODEL_CLASSES, quick_load.QuickLoadDIET)
    for model_class in model_classes:
        model_class.load = classmethod(quick_load.RASA_LOAD)


def voice_channel() -> None:
    """The voice channel as `rasa run` builds it from credentials.yml (it loads the recogniser)."""
    import yaml

    from asr_channel.channel import VoiceInput

    credentials = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text(encoding="utf-8"))
    VoiceInput.from_credentials(credentials.get("asr_channel.channel.VoiceInput"))


def measure_in_process(model: Path, rasa_loading: bool = False, with_jax: bool = False) -> str:
    before_main = process_age() or (time.perf_counter() - STARTED)
    phases = Phases()
    if not with_jax:
        keep_jax_out()
    with phases.phase("import tensorflow"):
        import tensorflow  # noqa: F401
    with phases.phase("import rasa (agent, server, CLI) and sanic"):
        import rasa.__main__  # what `rasa run` imports before it parses its arguments
        import rasa.core.agent
        import rasa.core.run  # the server
        from rasa.engine.storage.local_model_storage import LocalModelStorage
        from rasa.utils.log_utils import configure_structlog
        from rasa.utils.tensorflow.models import RasaModel
    with phases.phase("import zhiyin.rasa_cli (the `rasa` wrapper the server runs)"):
        import zhiyin.rasa_cli  # noqa: F401
    if rasa_loading:
        use_rasas_own_loading()

    import keras

    configure_structlog(logging.WARNING)  # Rasa's per-turn debug lines would bury the table
    phases.wrap_nodes()
    phases.wrap_step(RasaModel, "__init__", "construct the TensorFlow model")
    phases.wrap_step(keras.Model, "fit", "build weights: one training step (fit)")
    phases.wrap_step(keras.Model, "load_weights", "load_weights")
    phases.wrap_step(RasaModel, "run_inference", "first run_inference (traces prediction)")
    storage_original = LocalModelStorage.from_model_archive.__func__

    def timed_unpack(cls: Any, *args: Any, **kwargs: Any) -> Any:
        with phases.phase("unpack the model archive, read its metadata"):
            return storage_original(cls, *args, **kwargs)

    LocalModelStorage.from_model_archive = classmethod(timed_unpack)

    async def load_and_talk() -> None:
        started = time.perf_counter()
        agent = await rasa.core.agent.load_agent(model_path=str(model))
        nodes = sum(seconds for name, seconds, _ in phases.rows if name.endswith(")"))
        unpack = next(seconds for name, seconds, _ in phases.rows if name.startswith("unpack"))
        phases.add(
            "rest of load_agent (graph schema, component classes)", time.perf_counter() - started - nodes - unpack
        )
        with phases.phase("the voice channel (credentials.yml): its Whisper model"):
            voice_channel()
        phases.add("== healthy here: a server answers / after this ==", 0.0)
        from rasa.core.channels.channel import UserMessage

        processor = agent.processor
        assert processor is not None
        for turn, text in (("first", "你好"), ("second", "小米14多少钱")):
            with phases.phase(f"{turn} NLU parse (log_message)"):
                await processor.log_message(UserMessage(text, sender_id="cold-start"))
            with phases.phase(f"{turn} policy prediction"):
                await processor.predict_next_for_sender_id("cold-start")

    with tempfile.TemporaryDirectory():
        asyncio.run(load_and_talk())
    return phases.table(before_main)


# components.quick_load's log lines, in the server's log.
QUICK_LOADED = re.compile(r"loaded (\w+) in ([\d.]+)s")
NOT_QUICK = re.compile(r"(\w+) did not load the quick way")


def measure_server(model: Path, runs: int) -> str:
    """Cold start of the real Rasa server, `runs` times, as zhiyin.serve starts it."""
    from zhiyin import serve

    seconds: List[float] = []
    with tempfile.TemporaryDirectory(prefix="zhiyin-cold-start-") as tmp:
        env = serve.isolated_env(Path(tmp))
        for attempt in range(runs):
            group = serve.servers(serve.free_port(), serve.free_port(), str(model))
            logs = Path(tmp) / f"logs-{attempt}"
            try:
                ready = serve.start_group(group, 300, logs, env)
            finally:
                for server in reversed(group):
                    server.stop()
            seconds.append(ready["rasa-server"])
            log = (logs / "rasa-server.log").read_text(encoding="utf-8", errors="replace")
            quick = ", ".join(f"{name} {took} s" for name, took in QUICK_LOADED.findall(log)) or "none"
            slow = "; NOT quick: " + ", ".join(NOT_QUICK.findall(log)) if NOT_QUICK.search(log) else ""
            print(
                f"  start {attempt + 1}/{runs}: Rasa server healthy after {seconds[-1]:.1f} s "
                f"(quick-loaded: {quick}{slow})",
                flush=True,
            )
    return f"Rasa server cold start, median of {runs}: {statistics.median(seconds):.1f} s ({', '.join(f'{s:.1f}' for s in seconds)})"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", type=Path, default=MODEL_PATH)
    parser.add_argument("--server", action="store_true", help="time the real server (zhiyin.serve) instead")
    parser.add_argument("--runs", type=int, default=3, help="server starts (--server)")
    parser.add_argument("--rasa-loading", action="store_true", help="in-process: load every model Rasa's own way")
    parser.add_argument("--with-jax", action="store_true", help="in-process: let TensorFlow import JAX, for comparison")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    print(
        measure_server(args.model, args.runs)
        if args.server
        else measure_in_process(args.model, args.rasa_loading, args.with_jax)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
