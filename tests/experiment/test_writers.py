"""What a run shows in TensorBoard: scalars, sample montages, the resolved config; and the
profiler trace --config.train.profile_steps asks for."""

import struct

from tensorboardX.proto import event_pb2


def events(folder):
    """Every Event in a folder's TensorBoard files (TFRecord: length, crc, data, crc)."""
    out = []
    for path in sorted(folder.glob("events.out.tfevents.*")):
        data = path.read_bytes()
        i = 0
        while i < len(data):
            (n,) = struct.unpack("<Q", data[i : i + 8])
            e = event_pb2.Event()
            e.ParseFromString(data[i + 12 : i + 12 + n])
            out.append(e)
            i += 12 + n + 4
    return out


def test_tensorboard_has_sample_images_config_and_scalars(trained_run):
    evs = events(trained_run("synthesis") / "metrics")
    values = [(e.step, v) for e in evs for v in e.summary.value]
    images = {(step, v.tag) for step, v in values if v.HasField("image")}
    assert {(2, "samples"), (4, "samples")} <= images
    (png,) = {v.image.encoded_image_string[:8] for s, v in values if v.HasField("image")}
    assert png == b"\x89PNG\r\n\x1a\n"
    config = [v for _, v in values if v.tag.startswith("config")]
    assert config and b"variant: synthesis" in config[0].tensor.string_val[0]
    assert any(v.tag == "loss" for _, v in values)


def test_profile_steps_write_a_trace(trained_run):
    run = trained_run("synthesis", **{"train.profile_steps": 2})
    assert list((run / "profile").rglob("*.xplane.pb"))
