"""Where a REST turn's time goes in the running stack: `python -m tools.profile_turn`.

Starts the action server and the Rasa server as `make run` does (zhiyin.serve, isolated data
in a temporary directory, as the benchmarks do), with one difference: the Rasa server runs
through this module (`--probe`), which wraps the functions a turn passes through with timers
before handing over to zhiyin.rasa_cli. Then one client sends `--turns` REST messages, one after
another (10 customers in turn asking the benchmark's questions), and the table says, per turn,
how long each step took: the lock, loading the tracker (decrypting its events), each NLU
component and policy, the custom action through the gateway to the action server, saving the
tracker — and what is left for HTTP, the channel and JSON. `--cprofile` adds the functions that
took the most time inside the Rasa server during the measured turns (cProfile slows them).

The timers measure; they change nothing. Figures are for one sequential client: with more,
turns wait for each other and the steps overlap.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import cProfile
import functools
import io
import json
import pstats
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from zhiyin.paths import MODEL_PATH

SENDERS = 10
WARM_UP_TURNS = 10

# What the probe times, as (label, owner module, class, attribute), outermost first. A label
# indented under another is part of it.
STEPS: List[Tuple[str, str, str, str]] = [
    ("Agent.handle_message: lock, then the turn", "rasa.core.agent", "Agent", "handle_message"),
    ("  MessageProcessor.handle_message", "rasa.core.processor", "MessageProcessor", "handle_message"),
    (
        "    load the tracker, check the session",
        "rasa.core.processor",
        "MessageProcessor",
        "fetch_tracker_and_update_session",
    ),
    ("      SQL tracker store: retrieve", "rasa.core.tracker_store", "SQLTrackerStore", "retrieve"),
    ("    NLU: parse_message (the NLU graph)", "rasa.core.processor", "MessageProcessor", "parse_message"),
    ("    action_extract_slots", "rasa.core.processor", "MessageProcessor", "run_action_extract_slots"),
    ("    policies: the policy graph", "rasa.core.processor", "MessageProcessor", "_predict_next_with_tracker"),
    ("    run the actions (utterances, custom)", "rasa.core.processor", "MessageProcessor", "_run_action"),
    ("      custom action: RemoteAction.run", "rasa.core.actions.action", "RemoteAction", "run"),
    ("        request body: tracker state, domain", "rasa.core.actions.action", "RemoteAction", "_action_call_format"),
    ("          of which Domain.as_dict", "rasa.shared.core.domain", "Domain", "as_dict"),
    ("        HTTP to the gateway and back", "rasa.utils.endpoints", "EndpointConfig", "request"),
    ("          gateway -> action server (forward)", "channels.action_gateway", "ActionGatewayInput", "forward"),
    ("        jsonschema check of the answer", "rasa.core.actions.action", "RemoteAction", "_validate_action_result"),
    ("    save the tracker", "rasa.core.processor", "MessageProcessor", "save_tracker"),
    ("      SQL tracker store: save", "rasa.core.tracker_store", "SQLTrackerStore", "save"),
    ("event data decrypted (zhiyin.crypto.decrypt)", "zhiyin.crypto", "", "decrypt"),
    ("event data encrypted (zhiyin.crypto.encrypt)", "zhiyin.crypto", "", "encrypt"),
]
HANDLE_MESSAGE = STEPS[0][0]


class Probes:
    """Timers around STEPS and every graph node, summed per turn; turns before `skip` ignored."""

    def __init__(self, skip: int, profile: bool) -> None:
        self.skip = skip
        self.turns = 0
        self.recording = False
        self.current: Dict[str, List[float]] = defaultdict(list)
        self.per_turn: Dict[str, List[Tuple[float, int]]] = defaultdict(list)  # label: [(seconds, calls)]
        self.profiler: Optional[cProfile.Profile] = cProfile.Profile() if profile else None

    def record(self, label: str, seconds: float) -> None:
        if self.recording:
            self.current[label].append(seconds)

    def wrap(self, owner: Any, attribute: str, label: str) -> None:
        original = getattr(owner, attribute)
        probes = self
        if asyncio.iscoroutinefunction(original):

            @functools.wraps(original)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await original(*args, **kwargs)
                finally:
                    probes.record(label, time.perf_counter() - started)

            setattr(owner, attribute, timed_async)
        else:

            @functools.wraps(original)
            def timed(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    probes.record(label, time.perf_counter() - started)

            setattr(owner, attribute, timed)

    def wrap_turn(self) -> None:
        """Agent.handle_message starts and ends a turn (one client: turns do not overlap)."""
        from rasa.core.agent import Agent

        original = Agent.handle_message
        probes = self

        @functools.wraps(original)
        async def turn(agent: Agent, message: Any) -> Any:
            probes.turns += 1
            probes.recording = probes.turns > probes.skip
            if probes.recording and probes.profiler:
                probes.profiler.enable()
            started = time.perf_counter()
            try:
                return await original(agent, message)
            finally:
                probes.record(HANDLE_MESSAGE, time.perf_counter() - started)
                if probes.recording:
                    if probes.profiler:
                        probes.profiler.disable()
                    probes.end_turn()
                probes.recording = False

        Agent.handle_message = turn

    def wrap_nodes(self) -> None:
        """Each graph node (NLU components, policies) under its node name."""
        from rasa.engine.graph import GraphNode

        original = GraphNode.__call__
        probes = self

        @functools.wraps(original)
        def timed(node: GraphNode, *inputs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(node, *inputs)
            finally:
                probes.record(f"node {node._node_name}", time.perf_counter() - started)

        GraphNode.__call__ = timed

    def end_turn(self) -> None:
        for label in set(self.per_turn) | set(self.current):
            durations = self.current.get(label, [])
            self.per_turn[label].append((sum(durations), len(durations)))
        self.current.clear()

    def install(self) -> None:
        import importlib

        for label, module, cls, attribute in STEPS[1:]:
            owner = importlib.import_module(module)
            self.wrap(getattr(owner, cls) if cls else owner, attribute, label)
        self.wrap_turn()
        self.wrap_nodes()

    def dump(self, path: Path) -> None:
        data: Dict[str, Any] = {"turns": self.turns - self.skip, "per_turn": self.per_turn}
        if self.profiler:
            text = io.StringIO()
            pstats.Stats(self.profiler, stream=text).sort_stats("tottime").print_stats(30)
            data["cprofile"] = text.getvalue()
        path.write_text(json.dumps(data), encoding="utf-8")


def serve_with_probes(stats: Path, skip: int, profile: bool, rasa_args: List[str]) -> None:
    """The Rasa server as zhiyin.rasa_cli runs it, with the probes installed first."""
    probes = Probes(skip, profile)
    probes.install()
    atexit.register(probes.dump, stats)
    from zhiyin.rasa_cli import main, with_api_token
    from zhiyin.redaction import mask_phone_numbers_in_logs
    from zhiyin.settings import rasa_api_token

    mask_phone_numbers_in_logs()
    sys.argv = with_api_token(["rasa", *rasa_args], rasa_api_token())
    main()


def drive_turns(base: str, turns: int) -> List[float]:
    """Warm-up, then `turns` REST turns from one client; each turn's latency in ms."""
    from tools.bench.load import TURN_MESSAGES, answered, drive

    def body(prefix: str) -> Callable[[int, int], Dict[str, str]]:
        return lambda _client, turn: {
            "sender": f"{prefix}-{turn % SENDERS}",
            "message": TURN_MESSAGES[(turn // SENDERS) % len(TURN_MESSAGES)],
        }

    url = f"{base}/webhooks/rest/webhook"
    asyncio.run(drive(url, body("profile-warm"), answered, 1, WARM_UP_TURNS))
    run = asyncio.run(drive(url, body("profile"), answered, 1, turns))
    if run.errors:
        raise RuntimeError(f"{run.errors} of {turns} turns failed")
    return run.latencies_ms


def report(latencies: List[float], stats: Dict[str, Any]) -> str:
    per_turn: Dict[str, List[Tuple[float, int]]] = stats["per_turn"]
    client = statistics.median(latencies)

    def row(label: str, samples: List[Tuple[float, int]]) -> str:
        ms = [seconds * 1000 for seconds, _ in samples]
        calls = statistics.mean(count for _, count in samples)
        share = statistics.median(ms) / client
        return f"{label:<58} {statistics.median(ms):>8.1f} {statistics.mean(ms):>8.1f} {calls:>6.1f} {share:>6.0%}"

    lines = [
        f"{stats['turns']} REST turns, one client; client-side latency p50 {client:.1f} ms, "
        f"p95 {sorted(latencies)[int(0.95 * (len(latencies) - 1))]:.1f} ms",
        "",
        f"{'step (per turn)':<58} {'p50 ms':>8} {'mean ms':>8} {'calls':>6} {'of p50':>6}",
        f"{'REST turn as the client sees it':<58} {client:>8.1f} {statistics.mean(latencies):>8.1f} {1:>6.1f} {1:>6.0%}",
    ]
    for label, *_ in STEPS:
        if label in per_turn:
            lines.append(row(label, per_turn[label]))
    handled = statistics.median(seconds * 1000 for seconds, _ in per_turn[HANDLE_MESSAGE])
    lines.append(f"{'outside Agent.handle_message: HTTP, channel, JSON':<58} {client - handled:>8.1f}")
    lines += ["", f"{'graph node (per turn)':<58} {'p50 ms':>8} {'mean ms':>8} {'calls':>6} {'of p50':>6}"]
    nodes = sorted(
        (label for label in per_turn if label.startswith("node ")),
        key=lambda label: -statistics.mean(s for s, _ in per_turn[label]),
    )
    lines += [row(label, per_turn[label]) for label in nodes]
    if "cprofile" in stats:
        lines += ["", "cProfile inside the Rasa server, measured turns (top by own time):", stats["cprofile"]]
    return "\n".join(lines)


def profile(model: Path, turns: int, with_cprofile: bool) -> str:
    from zhiyin import serve

    with tempfile.TemporaryDirectory(prefix="zhiyin-profile-") as tmp:
        env = serve.isolated_env(Path(tmp))
        stats_path = Path(tmp) / "probes.json"
        rasa_port, action_port = serve.free_port(), serve.free_port()
        action_server, rasa_server = serve.servers(rasa_port, action_port, str(model))
        at = rasa_server.command.index("zhiyin.rasa_cli")
        probe = ["tools.profile_turn", "--probe", str(stats_path), "--skip", str(WARM_UP_TURNS)]
        rasa_server.command[at : at + 1] = probe + (["--cprofile"] if with_cprofile else []) + ["--"]
        try:
            serve.start_group([action_server, rasa_server], 300, Path(tmp) / "logs", env)
            latencies = drive_turns(f"http://{serve.HOST}:{rasa_port}", turns)
        finally:
            rasa_server.stop()
            action_server.stop()
        if not stats_path.exists():
            raise RuntimeError(f"the Rasa server wrote no timings; see {Path(tmp) / 'logs'}")
        return report(latencies, json.loads(stats_path.read_text(encoding="utf-8")))


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", type=Path, default=MODEL_PATH)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--cprofile", action="store_true", help="also profile the server's functions")
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)  # the Rasa server side
    parser.add_argument("--skip", type=int, default=0, help=argparse.SUPPRESS)
    if "--" in argv:
        at = argv.index("--")
        args, rasa_args = parser.parse_args(argv[:at]), argv[at + 1 :]
    else:
        args, rasa_args = parser.parse_args(argv), []
    if args.probe:
        serve_with_probes(args.probe, args.skip, args.cprofile, rasa_args)
        return 0
    print(profile(args.model, args.turns, args.cprofile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
