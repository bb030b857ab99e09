"""Hypothesis strategies for routine files (as the dicts TOML parses into) valid on a device.

`routines(device_name)` draws routines that fit the chair or the pad at intensity 5: depth,
pressure and tapping stay within hard ranges at 4/3 of the written value, ramps within the
channels' rates, airbag steps on the pad are marked optional. Durations use the 1 ms grid.
"""

from __future__ import annotations

from hypothesis import strategies as st

from massagectl.routines.body import STANDARD_TRIGGER_POINTS_PCT
from massagectl.routines.device import load_device
from massagectl.routines.loading import validate_data
from massagectl.routines.routine import Routine
from massagectl.routines.user import UserProfile

BACK_ZONES = ["neck", "shoulders", "upper_back", "mid_back", "lower_back"]
AIRBAG_ZONES = ["shoulders", "arms", "seat", "calves", "feet"]

seconds = st.one_of(
    st.integers(1, 240).map(float),
    st.integers(1_000, 120_000).map(lambda ms: ms / 1000),
)
percent = st.floats(-30, 110, allow_nan=False)
band = st.one_of(st.sampled_from(BACK_ZONES), st.lists(percent, min_size=2, max_size=2))
distinct_band = st.lists(percent, min_size=2, max_size=2, unique=True).filter(
    lambda ends: abs(ends[0] - ends[1]) > 1e-6
)
roller_extras = {
    "depth_mm": st.floats(0.5, 25),  # 25 * 4/3 < the chair's 40 mm
    "width_mm": st.floats(70, 190),
}


def knead() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {"kind": st.just("knead"), "duration_s": seconds, "speed_cpm": st.floats(5, 40),
         "band": band},
        optional={**roller_extras, "travel_mm_s": st.floats(1, 25)},
    )


def tap() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        # 6 Hz * 4/3 = 8 Hz, the pad's hard limit.
        {"kind": st.just("tap"), "duration_s": seconds, "frequency_hz": st.floats(1, 6),
         "band": band},
        optional={**roller_extras, "travel_mm_s": st.floats(1, 25)},
    )


def stroke() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {"kind": st.just("stroke"), "duration_s": seconds, "band": distinct_band,
         "speed_mm_s": st.floats(2, 25)},
        optional=roller_extras,
    )


def trigger_point() -> st.SearchStrategy[dict]:
    place = st.one_of(
        st.fixed_dictionaries({"point": st.sampled_from(sorted(STANDARD_TRIGGER_POINTS_PCT))}),
        st.fixed_dictionaries({"position_pct": percent}),
    )
    # press and release of at least 3 s: 25 mm * 4/3 reached at under the chair's 15 mm/s.
    body = st.fixed_dictionaries(
        {"kind": st.just("trigger_point"), "hold_s": st.integers(30, 90).map(float)},
        optional={**roller_extras, "press_s": st.integers(3, 20).map(float),
                  "release_s": st.integers(3, 20).map(float)},
    )
    return st.tuples(place, body).map(lambda parts: {**parts[1], **parts[0]})


def press(zones: list[str], optional: bool) -> st.SearchStrategy[dict]:
    # 18 kPa * 4/3 = 24 kPa, under every airbag's hard limit; 24 kPa / 5 s is under 6 kPa/s.
    return st.fixed_dictionaries(
        {"kind": st.just("press"),
         "zones": st.lists(st.sampled_from(zones), min_size=1, max_size=len(zones), unique=True),
         "pressure_kpa": st.floats(0.5, 18), "ramp_in_s": st.integers(5, 30).map(float),
         "hold_s": seconds, "release_s": st.integers(5, 30).map(float),
         "optional": st.just(True) if optional else st.booleans()},
    )


def heat(zone: str, optional: bool) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {"kind": st.just("heat"), "zone": st.just(zone), "duration_s": seconds,
         "temperature_c": st.floats(30, 42),
         "optional": st.just(True) if optional else st.booleans()},
    )


def pause() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries({"kind": st.just("pause"), "duration_s": seconds})


def _categories(device: str) -> dict[str, st.SearchStrategy[dict]]:
    """Steps grouped by the actuators they drive, so parallel tracks can be kept apart."""
    pad = device == "pad"
    return {
        "roller": st.one_of(knead(), tap(), stroke(), trigger_point()),
        "heat_lower_back": heat("lower_back", optional=False),
        "heat_calves": heat("calves", optional=pad),
        "press_upper": press(["shoulders", "arms"], optional=pad),
        "press_lower": press(["seat", "calves", "feet"], optional=pad),
    }


def _sequence(leaf: st.SearchStrategy[dict], depth: int) -> st.SearchStrategy[list]:
    step = st.one_of(leaf, pause())
    if depth > 0:
        repeat = st.fixed_dictionaries(
            {"kind": st.just("repeat"), "count": st.integers(1, 3),
             "steps": _sequence(leaf, depth - 1)}
        )
        step = st.one_of(step, repeat)
    return st.lists(step, min_size=1, max_size=3)


@st.composite
def _parallel(draw, device: str, depth: int) -> dict:
    categories = _categories(device)
    chosen = draw(st.lists(st.sampled_from(sorted(categories)), min_size=2, max_size=3,
                           unique=True))
    tracks = [{"steps": draw(_sequence(categories[name], depth))} for name in chosen]
    return {"kind": "parallel", "tracks": tracks}


def steps(device: str, depth: int = 1) -> st.SearchStrategy[list]:
    categories = _categories(device)
    leaf = st.one_of(*categories.values())
    step = st.one_of(leaf, pause(), _parallel(device, depth - 1))
    if depth > 0:
        step = st.one_of(step, st.fixed_dictionaries(
            {"kind": st.just("repeat"), "count": st.integers(1, 3),
             "steps": _sequence(leaf, depth - 1)}
        ))
    return st.lists(step, min_size=1, max_size=5)


def routines(device: str) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {"name": st.just("drawn"), "description": st.just("drawn by hypothesis"),
         "steps": steps(device)},
        optional={"intensity": st.integers(1, 5),
                  "warm_up_s": st.integers(0, 60).map(float),
                  "cool_down_s": st.integers(10, 60).map(float)},
    )


def expected_duration_ms(routine: dict) -> int:
    """The plan duration a routine dict should give, computed from the dict alone."""
    def step_ms(step: dict) -> int:
        kind = step["kind"]
        if kind == "repeat":
            return step["count"] * sum(step_ms(child) for child in step["steps"])
        if kind == "parallel":
            return max(sum(step_ms(child) for child in t["steps"]) for t in step["tracks"])
        if kind == "press":
            return round((step["ramp_in_s"] + step["hold_s"] + step["release_s"]) * 1000)
        if kind == "trigger_point":
            parts = (step.get("press_s", 5.0), step["hold_s"], step.get("release_s", 5.0))
            return round(sum(parts) * 1000)
        return round(step["duration_s"] * 1000)

    warm_ms = round(routine.get("warm_up_s", 20.0) * 1000)
    cool_ms = round(routine.get("cool_down_s", 20.0) * 1000)
    return warm_ms + sum(step_ms(step) for step in routine["steps"]) + cool_ms


CHAIR = load_device("chair")
PAD = load_device("pad")
DEVICES = {"chair": CHAIR, "pad": PAD}
users = st.builds(
    UserProfile,
    shoulder_height_mm=st.floats(400, 800),
    back_length_mm=st.floats(250, 650),
    preferred_intensity=st.integers(1, 5),
)


def routine_from(data: dict) -> Routine:
    return validate_data("drawn.toml", data, Routine).with_source("drawn.toml")


@st.composite
def cases(draw):
    """(routine, device, user) with the routine valid on the device."""
    device = draw(st.sampled_from(sorted(DEVICES)))
    return routine_from(draw(routines(device))), DEVICES[device], draw(users)


def wild_step() -> st.SearchStrategy[dict]:
    """One step with values anywhere, valid or not, for the "refuse or compile safely" property."""
    # Mostly plausible values, so that a fair share compiles; the rest anywhere.
    plausible = st.integers(1, 40).map(float)
    anywhere = st.floats(-5, 120, allow_nan=False)
    number = st.one_of(*[plausible] * 8, anywhere)
    roller = {"depth_mm": number, "width_mm": st.floats(0, 300), "optional": st.booleans()}

    def roller_step(kind: str, required: dict) -> st.SearchStrategy[dict]:
        return st.fixed_dictionaries(
            {"kind": st.just(kind), "duration_s": number, "band": band, **required},
            optional={**roller, "travel_mm_s": number} if kind != "stroke" else roller)

    return st.one_of(
        roller_step("knead", {"speed_cpm": number}),
        roller_step("tap", {"frequency_hz": number}),
        roller_step("stroke", {"speed_mm_s": number}),
        st.fixed_dictionaries(
            {"kind": st.just("trigger_point"), "position_pct": percent,
             "hold_s": st.one_of(st.integers(30, 90).map(float), number)},
            optional={"depth_mm": number, "press_s": number, "release_s": number}),
        st.fixed_dictionaries(
            {"kind": st.just("press"), "zones": st.lists(st.sampled_from(AIRBAG_ZONES),
                                                         min_size=1, max_size=2, unique=True),
             "pressure_kpa": number, "ramp_in_s": number, "hold_s": number,
             "release_s": number},
            optional={"optional": st.booleans()}),
        st.fixed_dictionaries(
            {"kind": st.sampled_from(["heat", "cool"]),
             "zone": st.sampled_from(["lower_back", "calves", "neck"]),
             "temperature_c": number, "duration_s": number},
            optional={"optional": st.booleans()}),
    )


def wild_routines() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {"name": st.just("wild"), "description": st.just("anything"),
         "steps": st.lists(wild_step(), min_size=1, max_size=3)},
        optional={"cool_down_s": st.one_of(st.just(20.0), st.floats(0, 30))},
    )
