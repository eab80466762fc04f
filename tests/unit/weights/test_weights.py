"""Weights: torchvision files from the torch.hub cache (offline) or downloaded with progress,
the bundled demo model's format, and uploaded checkpoints (untrusted bytes)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import io
import os
import pickle
import shutil
import socket
import threading
import zipfile
from pathlib import Path

import pytest
import torch
import torchvision
from PIL import Image
from torch import nn

import resnet_viz
from resnet_viz import ResNetSpec, build_model, preset
from resnet_viz.weights import (
    DEMO_CHECKPOINT,
    DEMO_FORMAT,
    IMAGENET_MODELS,
    CheckpointError,
    LoadedModel,
    Preprocessing,
    WeightsError,
    WeightsUnavailable,
    imagenet_preprocessing,
    load_checkpoint,
    load_demo_model,
    load_imagenet_model,
    weights_path,
)
from resnet_viz.weights import imagenet as imagenet_module

# One intra-op thread (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_intra_op_thread")

RESNET18_FILE = "resnet18-f37072fd.pth"
TINY = ResNetSpec(layers=(1, 1, 1), widths=(4, 8, 16), stem="cifar", shortcut="A", num_classes=3)


@pytest.fixture
def torch_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "torch-home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)  # in case someone called set_dir
    return home / "hub" / "checkpoints"


def block_network(monkeypatch) -> list[str]:
    """Make every DNS lookup and connection raise; returns the list of attempts."""
    attempts: list[str] = []

    def refuse(what):
        def blocked(*args, **kwargs):
            attempts.append(what)
            raise OSError(f"network disabled in this test ({what})")

        return blocked

    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    return attempts


def seeded_torchvision(name: str, **kwargs) -> nn.Module:
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(**kwargs)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    return model.eval()


@pytest.fixture(scope="module")
def resnet18_file(tmp_path_factory) -> tuple[Path, str]:
    """A randomly initialised torchvision ResNet-18 state_dict on disk, and its SHA-256."""
    path = tmp_path_factory.mktemp("weights") / "resnet18-random.pth"
    torch.save(seeded_torchvision("resnet18").state_dict(), path)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def state_bytes(state) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def same_outputs(a: nn.Module, b: nn.Module, side: int = 64) -> None:
    x = torch.randn(1, 3, side, side, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        torch.testing.assert_close(a(x), b(x), rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------------------------
# torchvision ImageNet weights
# --------------------------------------------------------------------------------------------


def test_catalogue_is_torchvisions_default_weights():
    assert list(IMAGENET_MODELS) == [
        "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "wide_resnet50_2",
        "resnext50_32x4d",
    ]  # fmt: skip
    for name, weights in IMAGENET_MODELS.items():
        assert weights is torchvision.models.get_model_weights(name).DEFAULT


def test_catalogue_is_derived_from_the_presets():
    from resnet_viz.core.presets import PRESETS

    builders = [name for name, p in PRESETS.items() if p.torchvision_builder is not None]
    assert list(IMAGENET_MODELS) == builders
    for name in builders:
        assert PRESETS[name].torchvision_builder == f"torchvision.models.{name}"


def test_weights_path_is_torch_hubs_cache_and_follows_torch_home(torch_home):
    assert weights_path("resnet18") == torch_home / RESNET18_FILE
    assert weights_path("resnet50").name == "resnet50-11ad3fa6.pth"


def test_preprocessing_is_read_from_the_weights_transforms():
    assert imagenet_preprocessing("resnet18") == Preprocessing(
        224, 256, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    )
    assert imagenet_preprocessing("resnet50").resize == 232  # IMAGENET1K_V2
    image = Image.frombytes("RGB", (300, 260), os.urandom(300 * 260 * 3))
    for name in ("resnet18", "resnet50"):
        ours = imagenet_preprocessing(name).tensor(image)
        theirs = IMAGENET_MODELS[name].transforms()(image).unsqueeze(0)
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)
        assert imagenet_preprocessing(name).crop(image).size == (224, 224)


def test_cached_file_loads_with_no_network_at_all(torch_home, resnet18_file, monkeypatch):
    source, _ = resnet18_file
    torch_home.mkdir(parents=True)
    shutil.copy(source, torch_home / RESNET18_FILE)  # random weights, so no hash match: a
    # cached file is not re-hashed, exactly as torch.hub does
    attempts = block_network(monkeypatch)
    progress = []
    loaded = load_imagenet_model("resnet18", device="cpu", progress=lambda *a: progress.append(a))
    assert attempts == []
    assert progress == []
    assert isinstance(loaded, LoadedModel)
    assert loaded.name == "resnet18"
    assert loaded.spec == preset("resnet18")
    assert loaded.source == "torchvision ResNet18_Weights.IMAGENET1K_V1"
    meta = IMAGENET_MODELS["resnet18"].meta["categories"]
    assert loaded.categories == list(meta)
    assert len(loaded.categories) == 1000
    assert loaded.categories[207] == "golden retriever"
    assert loaded.preprocessing == imagenet_preprocessing("resnet18")
    assert not loaded.model.training
    assert all(t.device.type == "cpu" for t in loaded.model.state_dict().values())
    reference = seeded_torchvision("resnet18")
    same_outputs(loaded.model, reference)


def test_no_file_and_no_network_names_the_file_and_the_folder(torch_home, monkeypatch):
    attempts = block_network(monkeypatch)
    with pytest.raises(WeightsUnavailable) as caught:
        load_imagenet_model("resnet18", device="cpu")
    message = str(caught.value)
    assert RESNET18_FILE in message
    assert str(torch_home) in message
    assert "ResNet-18" in message
    assert "no network?" in message
    assert caught.value.filename == RESNET18_FILE
    assert caught.value.folder == torch_home
    assert attempts  # it did try
    assert list(torch_home.iterdir()) == []  # no partial file left behind
    assert isinstance(caught.value, WeightsError)


def test_a_corrupt_cached_file_is_reported_with_its_path(torch_home):
    torch_home.mkdir(parents=True)
    (torch_home / RESNET18_FILE).write_bytes(b"PK\x03\x04 half a file")
    with pytest.raises(WeightsError, match="corrupt") as caught:
        load_imagenet_model("resnet18", device="cpu")
    assert str(torch_home / RESNET18_FILE) in str(caught.value)


def test_a_cached_file_of_another_network_is_refused(torch_home, resnet18_file):
    torch_home.mkdir(parents=True)
    shutil.copy(resnet18_file[0], torch_home / "resnet34-b627a593.pth")
    with pytest.raises(WeightsError, match="do not fit ResNet-34") as caught:
        load_imagenet_model("resnet34", device="cpu")
    assert "They do fit ResNet-18" in str(caught.value)


def test_unknown_network_is_refused():
    with pytest.raises(ValueError, match="available: resnet18, resnet34"):
        load_imagenet_model("resnet20")


# ---- downloads from a local server ------------------------------------------------------


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep the test output clean
        pass


class _TruncatingHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        self.wfile.write(b"x" * 1000)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format, *args):
        pass


@pytest.fixture
def serve(tmp_path):
    """Start an HTTP server on 127.0.0.1 over a fresh folder; yields (folder, base_url, start)."""
    servers = []
    folder = tmp_path / "served"
    folder.mkdir()

    def start(handler=None) -> str:
        handler = handler or functools.partial(_Handler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield folder, start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_download_with_progress_then_offline(torch_home, resnet18_file, serve, monkeypatch):
    source, digest = resnet18_file
    folder, start = serve
    name = f"resnet18-{digest[:8]}.pth"  # the hash prefix torch.hub checks
    shutil.copy(source, folder / name)
    base = start()
    monkeypatch.setattr(imagenet_module, "weights_url", lambda n: f"{base}/{name}")
    monkeypatch.setattr(imagenet_module, "DOWNLOAD_CHUNK", 1 << 18)

    calls: list[tuple[int, int]] = []
    loaded = load_imagenet_model(
        "resnet18", device="cpu", progress=lambda d, t: calls.append((d, t))
    )

    size = source.stat().st_size
    assert calls[0] == (0, size)
    assert calls[-1] == (size, size)
    assert all(total == size for _, total in calls)
    done = [d for d, _ in calls]
    assert done == sorted(done)
    assert len(calls) > 10
    assert (torch_home / name).read_bytes() == source.read_bytes()
    assert sorted(p.name for p in torch_home.iterdir()) == [name]  # no temporary file left
    same_outputs(loaded.model, seeded_torchvision("resnet18"))

    attempts = block_network(monkeypatch)  # the second time it is cached
    load_imagenet_model("resnet18", device="cpu")
    assert attempts == []


def test_a_download_that_does_not_match_its_hash_is_deleted(
    torch_home, resnet18_file, serve, monkeypatch
):
    folder, start = serve
    name = "resnet18-deadbeef.pth"
    shutil.copy(resnet18_file[0], folder / name)
    base = start()
    monkeypatch.setattr(imagenet_module, "weights_url", lambda n: f"{base}/{name}")
    with pytest.raises(WeightsError, match="corrupt: its SHA-256 starts with") as caught:
        load_imagenet_model("resnet18", device="cpu")
    assert not isinstance(caught.value, WeightsUnavailable)
    assert "deadbeef" in str(caught.value)
    assert list(torch_home.iterdir()) == []


def test_a_download_cut_short_is_unavailable_and_leaves_nothing(torch_home, serve, monkeypatch):
    _, start = serve
    base = start(_TruncatingHandler)
    monkeypatch.setattr(imagenet_module, "weights_url", lambda n: f"{base}/resnet18-0000.pth")
    with pytest.raises(WeightsUnavailable, match=r"resnet18-0000\.pth"):
        load_imagenet_model("resnet18", device="cpu")
    assert list(torch_home.iterdir()) == []


def test_http_errors_are_unavailable(torch_home, serve, monkeypatch):
    _, start = serve
    base = start()
    monkeypatch.setattr(imagenet_module, "weights_url", lambda n: f"{base}/resnet18-1234.pth")
    with pytest.raises(WeightsUnavailable, match="HTTP 404"):
        load_imagenet_model("resnet18", device="cpu")


# --------------------------------------------------------------------------------------------
# The bundled demo model
# --------------------------------------------------------------------------------------------


def tiny_trained() -> nn.Module:
    torch.manual_seed(3)
    model = build_model(TINY)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    return model


def demo_file(tmp_path: Path, model: nn.Module, **changes) -> Path:
    data = {
        "format": DEMO_FORMAT,
        "spec": dataclasses.asdict(TINY),
        "classes": ["circle", "square", "triangle"],
        "input_size": 32,
        "mean": [0.5, 0.5, 0.5],
        "std": [0.25, 0.25, 0.25],
        "state_dict": model.state_dict(),
    }
    data.update(changes)
    path = tmp_path / "demo_resnet.pt"
    torch.save(data, path)
    return path


def test_demo_model_round_trip(tmp_path, monkeypatch):
    model = tiny_trained()
    path = demo_file(tmp_path, model)
    attempts = block_network(monkeypatch)
    loaded = load_demo_model("cpu", path=path)
    assert attempts == []
    assert loaded.name == "demo"
    assert loaded.spec == TINY
    assert loaded.categories == ["circle", "square", "triangle"]
    assert loaded.preprocessing == Preprocessing(32, None, (0.5,) * 3, (0.25,) * 3)
    assert "demo_resnet.pt" in loaded.source
    assert not loaded.model.training
    same_outputs(loaded.model, model, side=32)
    image = Image.new("RGB", (50, 40), (255, 0, 0))
    assert loaded.preprocessing.tensor(image).shape == (1, 3, 32, 32)
    torch.testing.assert_close(loaded.preprocessing.tensor(image)[0, 0], torch.full((32, 32), 2.0))


def test_demo_model_with_the_spec_written_as_lists(tmp_path):
    # the demo trainer writes the spec's tuples as lists; the loaded spec is the same
    spec = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(TINY).items()}
    path = demo_file(tmp_path, tiny_trained(), spec=spec)
    assert load_demo_model("cpu", path=path).spec == TINY


def test_demo_model_default_path_is_in_the_package():
    package = Path(resnet_viz.__file__).parent
    assert package / "assets" / "demo_resnet.pt" == DEMO_CHECKPOINT


def test_a_missing_demo_model_says_where_it_should_be(tmp_path):
    missing = tmp_path / "assets" / "demo_resnet.pt"
    with pytest.raises(WeightsError, match="demo model is missing") as caught:
        load_demo_model(path=missing)
    assert str(missing) in str(caught.value)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"format": "something-else/2"}, "format is 'something-else/2'"),
        ({"classes": ["one", "two"]}, "classes must be 3 names"),
        ({"input_size": 0}, "input_size"),
        ({"mean": [0.5, 0.5]}, "mean must hold 3 numbers"),
        ({"std": [0.0, 1.0, 1.0]}, "std must be positive"),
        ({"spec": {"layers": [1, 1], "widths": [4]}}, "invalid spec"),
        ({"spec": {"no_such_field": 1}}, "invalid spec"),
    ],
)
def test_a_malformed_demo_file_is_refused(tmp_path, changes, match):
    with pytest.raises(WeightsError, match=match):
        load_demo_model(path=demo_file(tmp_path, tiny_trained(), **changes))


def test_a_demo_file_whose_weights_do_not_fit_its_spec_is_refused(tmp_path):
    other = build_model(dataclasses.replace(TINY, num_classes=5))
    with pytest.raises(WeightsError, match=r"fc\.weight: checkpoint 5x16"):
        load_demo_model(path=demo_file(tmp_path, other))


def test_a_demo_file_with_code_in_it_is_refused(tmp_path):
    path = demo_file(tmp_path, tiny_trained(), input_size=_Payload(tmp_path / "ran"))
    with pytest.raises(WeightsError, match="cannot be read"):
        load_demo_model(path=path)
    assert not (tmp_path / "ran").exists()


# --------------------------------------------------------------------------------------------
# Uploaded checkpoints
# --------------------------------------------------------------------------------------------


class _Payload:
    """Unpickling this calls os.system: what a malicious checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _FileWriter:
    """Unpickling this opens (creates) a file, without a shell."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_round_trip_of_a_real_resnet18_state_dict():
    reference = seeded_torchvision("resnet18")
    model = load_checkpoint(state_bytes(reference.state_dict()), preset("resnet18"))
    assert not model.training
    assert all(p.grad is None for p in model.parameters())
    assert all(t.device.type == "cpu" for t in model.state_dict().values())
    same_outputs(model, reference)


@pytest.mark.parametrize(
    ("wrap", "tolerance"),
    [
        pytest.param(lambda sd: {f"module.{k}": v for k, v in sd.items()}, 0, id="DataParallel"),
        pytest.param(lambda sd: {"state_dict": sd, "epoch": 90, "arch": "x"}, 0, id="nested"),
        pytest.param(lambda sd: {"model": sd, "optimizer": {"lr": 0.1}}, 0, id="model-key"),
        pytest.param(
            lambda sd: {"state_dict": {f"module.{k}": v for k, v in sd.items()}}, 0, id="both"
        ),
        pytest.param(
            lambda sd: {k: v for k, v in sd.items() if "num_batches_tracked" not in k},
            0,
            id="before-pytorch-0.4.1",
        ),
        pytest.param(lambda sd: {k: v.half() for k, v in sd.items()}, 1e-2, id="float16"),
    ],
)
def test_usual_checkpoint_layouts_load(wrap, tolerance):
    model = tiny_trained()
    loaded = load_checkpoint(state_bytes(wrap(model.state_dict())), TINY)
    assert {t.dtype for t in loaded.parameters()} == {torch.float32}
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=tolerance, atol=tolerance)


def test_a_classifier_of_another_size_is_named_with_both_shapes():
    ten_classes = seeded_torchvision("resnet18", num_classes=10)
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(state_bytes(ten_classes.state_dict()), preset("resnet18"))
    message = str(caught.value)
    assert "These weights do not fit ResNet-18." in message
    assert "fc.weight: checkpoint 10x512, ResNet-18 expects 1000x512" in message
    assert "fc.bias: checkpoint 10, ResNet-18 expects 1000" in message
    assert "2 keys with a different shape" in message
    assert "They do fit ResNet-18 with 10 classes" in message


def test_missing_and_unexpected_keys_are_listed_with_counts_and_the_right_preset_named():
    resnet34 = build_model(preset("resnet34"), device="meta")
    state = {k: torch.zeros(v.shape) for k, v in resnet34.state_dict().items()}
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(state_bytes(state), preset("resnet18"))
    message = str(caught.value)
    assert "keys unexpected in the checkpoint: layer1.2.conv1.weight" in message
    assert "and " in message
    assert "more." in message
    assert "They do fit ResNet-34" in message

    state18 = dict(seeded_torchvision("resnet18").state_dict())
    del state18["layer4.1.conv2.weight"]
    with pytest.raises(
        CheckpointError, match=r"1 key missing from the checkpoint: layer4\.1\.conv2"
    ):
        load_checkpoint(state_bytes(state18), preset("resnet18"))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol 5:UserWarning")
def test_a_malicious_pickle_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    # Control: the payload is live when unpickled without the weights_only guard.
    pickle.loads(pickle.dumps(_FileWriter(marker))).close()
    assert marker.exists()
    marker.unlink()

    for payload in (
        state_bytes({"conv1.weight": torch.zeros(1), "evil": _Payload(marker)}),
        state_bytes(_Payload(marker)),
        pickle.dumps(_FileWriter(marker), protocol=2),
        pickle.dumps(_FileWriter(marker), protocol=5),
    ):
        with pytest.raises(CheckpointError, match="Nothing in the file was run"):
            load_checkpoint(payload, TINY)
        assert not marker.exists()


def test_a_whole_pickled_model_is_refused_with_advice():
    with pytest.raises(CheckpointError, match=r"Save model\.state_dict\(\) instead"):
        load_checkpoint(state_bytes(tiny_trained()), TINY)


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 128, 255)).save(buffer, format="PNG")
    return buffer.getvalue()


def foreign_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "not a checkpoint")
    return buffer.getvalue()


def zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"\0" * 5_000_000)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "kwargs", "match"),
    [
        (os.urandom(4096), {}, "not a PyTorch checkpoint"),
        (png_bytes(), {}, r"not a PyTorch checkpoint \(it looks like a PNG image\)"),
        (foreign_zip(), {}, "ZIP archive but not a PyTorch checkpoint"),
        (zip_bomb(), {"max_bytes": 1_000_000}, "would unpack to more than 1 MB"),
        (b"PK\x03\x04" + os.urandom(100), {}, "truncated or corrupt"),
        (b"", {}, "empty"),
        (b"\x80\x02" + os.urandom(64), {}, "could not be read|Nothing in the file was run"),
        (state_bytes(torch.zeros(3)), {}, "holds a Tensor, not a state_dict"),
        (state_bytes({"epoch": 3}), {}, "no tensors and no state_dict"),
        (
            state_bytes({"conv1.weight": torch.zeros(1), "fc.weight": [1.0]}),
            {},
            "fc.weight holds a list",
        ),
        (state_bytes({"conv1.weight": torch.zeros(1)}), {"max_bytes": 100}, "the limit is"),
    ],
)
def test_not_a_checkpoint_is_refused_clearly(data, kwargs, match):
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(data, TINY, **kwargs)


def test_non_bytes_are_refused():
    with pytest.raises(CheckpointError, match="Expected the bytes"):
        load_checkpoint("a path", TINY)  # type: ignore[arg-type]


@pytest.mark.filterwarnings("ignore:Validating sparse tensor invariants:UserWarning")
def test_broken_weights_are_refused():
    state = tiny_trained().state_dict()
    state["fc.weight"] = torch.full_like(state["fc.weight"], float("nan"))
    with pytest.raises(CheckpointError, match=r"fc\.weight contains NaN"):
        load_checkpoint(state_bytes(state), TINY)
    state = tiny_trained().state_dict()
    state["fc.bias"] = state["fc.bias"].to_sparse()
    with pytest.raises(CheckpointError, match=r"fc\.bias is a torch\.sparse_coo tensor"):
        load_checkpoint(state_bytes(state), TINY)


def test_checkpoint_error_is_a_value_error():
    assert issubclass(CheckpointError, ValueError)


def test_an_app_format_upload_opens_with_its_classes_and_preprocessing():
    """A file the app wrote (the transfer-learning page's download) carries its names and
    transform into the opened checkpoint; a plain state_dict carries neither."""
    from resnet_viz.weights import open_checkpoint_file
    from resnet_viz.weights.checkpoint import checkpoint_bytes

    spec = dataclasses.replace(preset("resnet20"), num_classes=3)
    model = build_model(spec).eval()
    data = checkpoint_bytes(model, classes=["cat", "dog", "owl"], input_size=40,
                            mean=[0.1, 0.2, 0.3], std=[0.5, 0.6, 0.7],
                            extra={"resize": 48})  # fmt: skip
    opened = open_checkpoint_file(data)
    assert opened.reading.spec == spec
    assert opened.classes == ("cat", "dog", "owl")
    assert opened.preprocessing == Preprocessing(40, 48, (0.1, 0.2, 0.3), (0.5, 0.6, 0.7))
    for name, value in model.state_dict().items():
        assert torch.equal(opened.model.state_dict()[name], value), name
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    plain = open_checkpoint_file(buffer.getvalue())
    assert (plain.classes, plain.preprocessing) == (None, None)


@pytest.mark.parametrize(
    "changes",
    [
        {"classes": ["cat", "dog"]},  # not one name per output
        {"std": [0.5, 0.0, 0.7]},
        {"mean": [0.1, 0.2]},
        {"resize": 20},  # below input_size
        {"input_size": True},
    ],
)
def test_a_malformed_app_entry_drops_only_what_it_would_have_told(changes):
    from resnet_viz.weights.checkpoint import app_fields

    spec = dataclasses.replace(preset("resnet20"), num_classes=3)
    good = {"classes": ["cat", "dog", "owl"], "input_size": 40, "mean": [0.1, 0.2, 0.3],
            "std": [0.5, 0.6, 0.7], "resize": None}  # fmt: skip
    classes, preprocessing = app_fields({**good, **changes}, spec)
    kept = Preprocessing(40, None, (0.1, 0.2, 0.3), (0.5, 0.6, 0.7))
    if "classes" in changes:
        assert classes is None
        assert preprocessing == kept
    else:
        assert classes == ("cat", "dog", "owl")
        assert preprocessing is None
