"""Topic layout: every chair below one level of the base, commands found from their topic."""

from __future__ import annotations

import pytest

from massagectl.mqtt_bridge.topics import ChairTopics, CommandTopic, chair_id_from_serial


def test_chair_ids_come_from_the_serial_number_and_are_safe_in_topics():
    assert chair_id_from_serial("SN-0042") == "chair_sn-0042"
    assert chair_id_from_serial(" AB 12/x+# ") == "chair_ab_12_x"
    with pytest.raises(ValueError, match="no letters or digits"):
        chair_id_from_serial("///")


def test_one_subscription_lists_every_chairs_state():
    topics = [ChairTopics("massagectl", f"chair_{n}").state for n in range(3)]
    assert all(topic.split("/")[0] == "massagectl" and topic.split("/")[2] == "state"
               for topic in topics)
    assert len(set(topics)) == 3


@pytest.mark.parametrize(("topic", "expected"), [
    ("spa/c1/set", CommandTopic(None)),
    ("spa/c1/stop/set", CommandTopic("stop")),
    ("spa/c1/zone/calves/set", CommandTopic("zone", "calves")),
    ("spa/c1/state", None),
    ("spa/c2/stop/set", None),
    ("spa/c1/a/b/set", None),
    ("spa/c1set", None),
])
def test_command_topics_are_recognised(topic, expected):
    assert ChairTopics("spa", "c1").parse_command_topic(topic) == expected
