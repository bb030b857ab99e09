"""Project-wide test set-up: hypothesis profiles, the opt-in soak flag and leak checks."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest
from hypothesis import HealthCheck, Phase, settings

# CI is deterministic: the same examples every run, a bounded number of them, and no per-example
# deadline (the machines are shared and noisy; timing is measured by benchmarks instead).
settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=60,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", max_examples=200, deadline=None)
# Mutation runs (tools/mutation.sh) need a failing example, not the smallest one: shrinking
# a property that a mutant broke can take minutes, for each of hundreds of mutants.
settings.register_profile(
    "mutation",
    parent=settings.get_profile("ci"),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
settings.register_profile("fuzz", max_examples=20_000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _without_project_constants() -> None:
    """Hypothesis (6.13x on) also draws numbers written in the project's own modules, from
    whichever of them are imported at the moment. That depends on the tests that ran before in
    the same process, so under pytest-xdist's work stealing on the machine's load: a test met
    other examples alone than in a loaded full run, and failed only there. CI keeps to the
    examples its derandomized seed gives; the fuzz and dev profiles keep the extra numbers."""
    # These are Hypothesis internals: a release that moves them must not break the test run,
    # only bring back the load-dependent examples, so a missing piece leaves things as they are.
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants
    except ImportError:
        return
    if hasattr(providers, "_get_local_constants"):
        none = Constants()
        providers._get_local_constants = lambda: none


if settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci")).derandomize:
    _without_project_constants()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak", action="store_true", default=False, help="also run long soak and fuzz tests"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--soak"):
        return
    skip = pytest.mark.skip(reason="soak test: run with --soak")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


def _open_fds() -> dict[int, str]:
    fds = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            fds[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            pass  # the fd of the listing itself, already closed
    return fds


def _library_cache(target: str) -> bool:
    """matplotlib keeps the font files it has drawn with open in its font cache, for the life
    of the process: read-only files of the library, not a port or a pipe of ours."""
    return "/matplotlib/mpl-data/" in target


@pytest.fixture(autouse=True)
def no_leaked_fds_or_threads():
    """Fail a test that leaves a port, pty, socket or thread open behind it."""
    fds_before = _open_fds()
    threads_before = set(threading.enumerate())
    yield
    leaked_fds = {
        fd: target
        for fd, target in _open_fds().items()
        if (fd not in fds_before or fds_before[fd] != target) and not _library_cache(target)
    }
    # Pipes and sockets of a fresh event loop belong to pytest's own machinery only if they
    # existed before; anything new that is still open is the test's.
    leaked_threads = [
        t for t in threading.enumerate() if t not in threads_before and t.is_alive()
    ]
    problems = []
    if leaked_fds:
        problems.append(f"file descriptors left open: {leaked_fds}")
    if leaked_threads:
        problems.append(f"threads left running: {[t.name for t in leaked_threads]}")
    if problems:
        pytest.fail("; ".join(problems))


@pytest.fixture(autouse=True)
def no_board_left_unsafe():
    """Every simulated board a test created must end with outputs safe and no driver running."""
    from massagectl.sim import registry

    mark = registry.mark()
    yield
    problems = [problem for health in registry.healths_since(mark) for problem in health.problems()]
    registry.forget_since(mark)
    if problems:
        pytest.fail("; ".join(problems))


async def _without_leftover_tasks(coroutine, settle_ticks: int = 0):
    """Await `coroutine`, then fail if it left tasks running. `settle_ticks` loop turns first
    let cancellations that are already requested land (a network client that just closed)."""
    result = await coroutine
    for _ in range(settle_ticks):
        await asyncio.sleep(0)
    current = asyncio.current_task()
    leftover = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    if leftover:
        for task in leftover:
            task.cancel()
        await asyncio.gather(*leftover, return_exceptions=True)
        pytest.fail(f"tasks left running: {[(t.get_name(), t.get_coro()) for t in leftover]}")
    return result


@pytest.fixture
def run_virtual_time():
    """Run a coroutine on a virtual-time loop; fail if it leaves tasks running.

    Usage: `result = run_virtual_time(some_coroutine())`.
    """
    from massagectl.sim.virtual_loop import VirtualTimeLoop

    def runner(coroutine, speed: float | None = None):
        with asyncio.Runner(loop_factory=lambda: VirtualTimeLoop(speed=speed)) as runner:
            return runner.run(_without_leftover_tasks(coroutine))

    return runner


@pytest.fixture
def run_real_time():
    """Run a coroutine on a real-time loop (for real sockets, e.g. to a test MQTT broker);
    fail if it leaves tasks running."""

    def runner(coroutine):
        with asyncio.Runner() as runner:
            return runner.run(_without_leftover_tasks(coroutine, settle_ticks=3))

    return runner


@pytest.fixture(autouse=True)
def chair_records(tmp_path_factory, monkeypatch):
    """Every test keeps its chairs' safety records (safety.chair_record) in a folder of its own,
    never in the computer's."""
    folder = tmp_path_factory.mktemp("chairs")
    monkeypatch.setenv("MASSAGECTL_CHAIR_RECORDS", str(folder))
    return folder
