"""The chair's own safety record, keyed by its board's serial number: latched faults, and the
heat (and cold) recent sessions gave each zone, so that a new process, a new state folder or a
new login starts from what the chair and its occupant already went through.

    record = ChairRecord.load("SIM-chair-1")
    limits = record.remaining(owner_limits, device, time.time())   # budgets left for a session
    record.add_use("heat_lower_back", on_s=1020.0, dose=0.022, now_s=time.time())
    record.latch(fault); record.save()                             # write, fsync, rename

Where: one JSON file per chair in a machine-wide folder (`MASSAGECTL_CHAIR_RECORDS`, default
/var/tmp/massagectl/chairs: kept across reboots, not below any login's home or state folder,
and written with mode 0666 so every login updates the same file; a packaged install points it
at /var/lib/massagectl/chairs). A state folder is one login's view; this folder is the
computer's. What a host's disk cannot give, the board's latch does (hardware.md 5): a fault
shutdown stays latched on the board itself, through Reset and power cycles, until ClearFault,
whichever computer, process or folder talks to it next. The heat record has no such second
copy: a different computer starts from zero, which is why the board's own heat limits matter.

Recovery model (what a pause between sessions gives back):
- Thermal dose (safety.thermal_dose, Moritz & Henriques 1947): their damage integral has no
  repair term; damage only adds up during exposure. Skin cools within minutes once the heat is
  off, which ends the dose's growth, but what the heat did is repaired by the tissue over hours
  to days. The dose halves every DOSE_HALF_LIFE_S (a day). That figure is an assumption chosen
  to err on the safe side, not a measured repair rate of human skin, for which no study was
  found. The nearest data are animal split-dose experiments: the mouse ear heated in water at
  43.5 C ("Induced thermal resistance in the mouse ear", Br J Radiol; abstract read at
  scilit.net/publications/85627ceb9e3316f323f4b349bc5c4e80) needed about 50 min in one
  heating for necrosis in half the ears; split into two equal heatings, the total had to be
  longer once the pause passed 4 h, and with 24 h between them about 100 min: the ear had
  almost entirely recovered from the first heating within a day (the authors attribute it to
  repair of sublethal damage together with induced heat resistance). The model keeps half of an
  earlier session after a day, so it counts more of it than those data suggest, and a zone
  reaches its budget sooner, never later: counting too much only shortens a session's heat,
  counting too little could let sessions add up to a burn. The heat resistance itself (up to
  2.4 times the heating, for days, in the same experiments) is not credited at all. Two limits
  remain: the data are for mouse skin and a necrosis endpoint, and erythema ab igne ("toasted
  skin", a mottled discolouration from heat below burning, used daily for weeks) is not a burn
  and no dose budget models it; the heat timeout and the 42 C default cap are what keep that
  kind of use short and cool. A 17-minute session at 44 C still counts three quarters of itself
  ten hours later.
- Heat on-time: the heat timeout (30 min, Raffel recliner module) is per stretch of use; it
  comes back whole only after the zone rested HEAT_REST_S with the heat off, as long as the
  timeout itself.
- Cold on-time: an application of 15-20 min per zone needs a rest of 30-40 min before the next
  (safety.limits, cold); the application time comes back whole only after COLD_REST_S.
A record that cannot be read counts as a latched fault: the chair's history is unknown.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from massagectl.routines.device import ChannelKind, DeviceProfile
from massagectl.safety.atomic_file import write_atomically
from massagectl.safety.faults import Fault
from massagectl.safety.limits import COLD_REST_S, ColdLimits, HeatLimits, SafetyLimits

# The wall clock the record reads (Unix seconds); tests move it.
wall_clock = time.time
RECORDS_ENV = "MASSAGECTL_CHAIR_RECORDS"
DEFAULT_RECORDS = Path("/var/tmp/massagectl/chairs")
FORMAT_VERSION = 1
# Conservative by assumption, not measured (see the module docstring): animal data show almost
# all of a sub-necrotic heat dose repaired within a day; this keeps half.
DOSE_HALF_LIFE_S = 24 * 3600.0
HEAT_REST_S = 30 * 60.0
# A budget left at zero still has to be a positive number for the limits' validation; a plan
# with any heat on that zone exceeds it.
NOTHING_LEFT = 1e-9


def records_folder() -> Path:
    return Path(os.environ.get(RECORDS_ENV) or DEFAULT_RECORDS)


def _file_name(serial: str) -> str:
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in serial)
    return f"{safe or 'unnamed'}.json"


@dataclass
class ZoneUse:
    """What recent sessions gave one heat or cool channel, as of wall time `at_s`."""

    kind: str  # "heat" or "cool"
    on_s: float = 0.0
    dose: float = 0.0
    at_s: float = 0.0  # wall clock (Unix seconds) of these figures
    last_on_s: float = 0.0  # wall clock the zone was last on

    def now(self, now_s: float) -> ZoneUse:
        """The same use after recovery until `now_s` (a clock set back recovers nothing: a
        negative rest is never enough, and the dose only decays over time gone forward)."""
        rested_s = now_s - self.last_on_s
        rest_needed_s = COLD_REST_S if self.kind == "cool" else HEAT_REST_S
        elapsed_s = max(0.0, now_s - self.at_s)
        return ZoneUse(self.kind, 0.0 if rested_s >= rest_needed_s else self.on_s,
                       self.dose * 0.5 ** (elapsed_s / DOSE_HALF_LIFE_S), max(now_s, self.at_s),
                       self.last_on_s)


@dataclass
class ChairRecord:
    """See the module docstring."""

    serial: str
    path: Path
    latched: list[dict[str, str]] = field(default_factory=list)
    zones: dict[str, ZoneUse] = field(default_factory=dict)

    @classmethod
    def load(cls, serial: str, folder: Path | None = None) -> ChairRecord:
        path = (folder or records_folder()) / _file_name(serial)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(serial, path)
        except (OSError, ValueError) as error:
            return cls._unreadable(serial, path, str(error))
        try:
            latched = [{key: str(item[key]) for key in ("cause", "detail", "time")}
                       for item in data.get("latched", [])]
            return cls(serial, path, latched,
                       {str(channel): _zone_use(use) for channel, use in data["zones"].items()})
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            return cls._unreadable(serial, path, f"{type(error).__name__}: {error}")

    @classmethod
    def _unreadable(cls, serial: str, path: Path, why: str) -> ChairRecord:
        record = cls(serial, path)
        record.latched.append({"cause": "chair_record_unreadable", "time": _stamp(),
                               "detail": f"{path} could not be read ({why}); the chair's recent "
                               "heat is unknown"})
        return record

    # --- faults ------------------------------------------------------------------------------

    @property
    def is_latched(self) -> bool:
        return bool(self.latched)

    def latch(self, fault: Fault) -> None:
        """Keep `fault` latched; one entry per cause (the fault log holds every occurrence), so
        the record stays as short as the list of causes."""
        entry = {"cause": str(fault.cause), "detail": fault.detail, "time": _stamp()}
        if entry["cause"] not in {item["cause"] for item in self.latched}:
            self.latched = [*self.latched, entry]

    def clear(self) -> list[dict[str, str]]:
        cleared, self.latched = self.latched, []
        return cleared

    # --- heat and cold -----------------------------------------------------------------------

    def carried(self, channel_id: str, now_s: float) -> ZoneUse | None:
        use = self.zones.get(channel_id)
        return None if use is None else use.now(now_s)

    def add_use(self, channel_id: str, kind: str, on_s: float, dose: float, now_s: float) -> None:
        """A session gave `channel_id` this much on-time and dose, ending at `now_s`. A dose
        with no on-time (a surface still hot after its heat went off) counts too, but
        only on-time restarts the zone's rest."""
        if on_s <= 0.0 and dose <= 0.0:
            return
        before = self.carried(channel_id, now_s)
        on_before_s, dose_before, last_on_s = ((0.0, 0.0, 0.0) if before is None else
                                               (before.on_s, before.dose, before.last_on_s))
        self.zones[channel_id] = ZoneUse(kind, on_before_s + on_s, dose_before + dose, now_s,
                                         now_s if on_s > 0.0 else last_on_s)

    def remaining(self, limits: SafetyLimits, device: DeviceProfile,
                  now_s: float) -> tuple[SafetyLimits, list[str]]:
        """`limits` with the heat and cold budgets lowered by what the chair's zones carry
        (the most any zone carries: the budgets are per zone but set once for all), and a note
        for each lowering."""
        notes: list[str] = []
        heat_on_s = heat_dose = cool_on_s = 0.0
        for channel in device.channels:
            use = self.carried(channel.id, now_s)
            if use is None:
                continue
            if channel.kind is ChannelKind.HEAT:
                heat_on_s, heat_dose = max(heat_on_s, use.on_s), max(heat_dose, use.dose)
            elif channel.kind is ChannelKind.COOL:
                cool_on_s = max(cool_on_s, use.on_s)
        heat, cold = limits.heat, limits.cold
        if heat_on_s > 0.0 or heat_dose > 0.0:
            heat = HeatLimits(cap_c=heat.cap_c,
                              max_on_s=max(NOTHING_LEFT, heat.max_on_s - heat_on_s),
                              dose_budget=max(NOTHING_LEFT, heat.dose_budget - heat_dose))
            notes.append(f"recent sessions on this chair used {heat_on_s / 60:.1f} min of the "
                         f"{limits.heat.max_on_s / 60:g} min heat time and "
                         f"{heat_dose:.1%} of the {limits.heat.dose_budget:.0%} thermal dose")
        if cool_on_s > 0.0:
            cold = ColdLimits(floor_c=cold.floor_c,
                              max_on_s=max(NOTHING_LEFT, cold.max_on_s - cool_on_s))
            notes.append(f"recent sessions on this chair cooled a zone for "
                         f"{cool_on_s / 60:.1f} min of its {limits.cold.max_on_s / 60:g} min; "
                         f"a rest of {COLD_REST_S / 60:g} min gives it back")
        return limits.model_copy(update={"heat": heat, "cold": cold}), notes

    # --- disk --------------------------------------------------------------------------------

    def save(self) -> None:
        data = {"version": FORMAT_VERSION, "serial": self.serial, "updated": _stamp(),
                "latched": self.latched,
                "zones": {channel: asdict(use) for channel, use in self.zones.items()}}
        write_atomically(self.path, json.dumps(data, indent=1, allow_nan=False) + "\n",
                         mode=0o666)
        _open_folder(self.path.parent)


def _zone_use(data: dict) -> ZoneUse:
    if data.get("kind") not in ("heat", "cool"):
        raise ValueError(f"zone kind {data.get('kind')!r} is neither heat nor cool")
    numbers = {name: float(data[name]) for name in ("on_s", "dose", "at_s", "last_on_s")}
    if not all(math.isfinite(v) and v >= 0.0 for v in numbers.values()):
        raise ValueError(f"a zone's figures are not finite, non-negative numbers: {numbers}")
    return ZoneUse(data["kind"], **numbers)


def all_records(folder: Path | None = None) -> list[ChairRecord]:
    """Every chair this computer keeps a record of, by serial number."""
    folder = folder or records_folder()
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            serial = json.loads(path.read_text(encoding="utf-8")).get("serial", path.stem)
        except (OSError, ValueError, AttributeError):
            serial = path.stem
        found.append(ChairRecord.load(str(serial), folder))
    return found


def _open_folder(folder: Path) -> None:
    # Every login on this computer writes the same records: the folder must let them.
    try:
        os.chmod(folder, 0o777)
    except OSError:
        pass  # not ours to change: another login made it, and made it open


def _stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
