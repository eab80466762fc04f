"""Transfer learning on a small labelled set: a new head on a trained ResNet, or a network trained
from scratch beside it, with the numbers a lecture shows (loss and accuracy per epoch, the
confusion matrix, the images it gets wrong).

The two source articles of the product end this way (ResNet-50 trained on ImageNet, then on
Stanford Dogs); Yosinski et al. 2014 ("How transferable are features in deep neural networks?")
and Kornblith et al. 2019 ("Do Better ImageNet Models Transfer Better?") measure the modes:

The new head (``fc``, one output per class) starts at zero in the pretrained modes, so that the
network before training scores chance (1/K) rather than whatever a random head gets right.

- ``"probe"``: a linear probe. The backbone is frozen and its pooled features are computed once
  (eval mode, ``torch.inference_mode``, no augmentation), then only a new ``fc`` is trained on
  them: an epoch costs microseconds, so a probe takes about as long as one forward pass over
  the images;
- ``"last_stage"``: the last stage and a new ``fc`` are trained, everything below stays frozen
  and in eval mode (its BatchNorm statistics are the trained ones);
- ``"full"``: every weight is trained, starting from the given ones;
- ``"scratch"``: the same network freshly initialised (torchvision's initialisation, seeded),
  every weight trained: beside a pretrained run on the same images it shows why pretraining
  matters on small data.

Every mode trains a new network object: the given model is only read (its state_dict copied),
never put in train mode, never given gradients: it may be the cached model every session shares.

Data: the images of an :class:`~resnet_viz.data.image_folder.ImageFolder`, split per class with
:func:`~resnet_viz.data.split.stratified_split` (seeded). Each image is prepared once as uint8
pixels: the evaluation view is the weights' own transform
(:meth:`~resnet_viz.weights.common.Preprocessing.crop`: resize the shorter side, centre crop),
and the training view is the same resize to a ``R`` x ``R`` square (``R`` the preprocessing's
resize, or ``size * 8 / 7`` for a model that squashes its input) from which each epoch takes a
random ``size`` crop, flipped left-right half the time: "resize, random crop, flip", the
augmentation of He et al. 2015 (Sec. 3.4) without scale jitter. Training uses AdamW (Loshchilov
& Hutter 2019) with cosine annealing over all steps (``torch.optim.lr_scheduler.CosineAnnealingLR``)
and mean cross-entropy. The kept network is the epoch with the best validation accuracy (ties:
the lower validation loss), also when the run is stopped early.

Reproducible: the same data, arguments and seed give the same weights on one machine and thread
count (:func:`~resnet_viz.training.loop.deterministic_run`; shuffling and crops come from a
``torch.Generator`` seeded with ``seed``). On an accelerator the run falls back to the CPU when it
runs out of memory (:func:`~resnet_viz.runtime.device.run_with_cpu_fallback`); the memory is
estimated first and refused over the budget.

This module does not import streamlit.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)

from ..analysis.attribution.model_checks import model_device
from ..analysis.embedding import pooled_features
from ..core.build import ResNet, build_model
from ..core.spec import SpecError
from ..core.summary import summarize
from ..data.image_folder import ImageFolder
from ..data.split import DEFAULT_VALIDATION_FRACTION, Split, stratified_split
from ..errors import DatasetError
from ..runtime.device import run_with_cpu_fallback
from ..runtime.memory import memory_budget_bytes, refuse_over_budget
from ..weights.checkpoint import checkpoint_bytes
from ..weights.common import Preprocessing
from .loop import deterministic_run
from .prepared_pixels import PreparedPixels, train_side

__all__ = [
    "DEFAULT_EPOCHS",
    "LEARNING_RATES",
    "MAX_EPOCHS",
    "MODES",
    "MODE_LABELS",
    "EpochRecord",
    "FineTuned",
    "TrainingProgress",
    "fine_tune",
]

MODES = ("probe", "last_stage", "full", "scratch")
#: The mode that starts from random weights: what the pretrained ones are compared against.
SCRATCH = "scratch"
MODE_LABELS = {
    "probe": "Linear probe (frozen backbone)",
    "last_stage": "Fine-tune the last stage",
    "full": "Full fine-tune",
    "scratch": "From scratch (same network, random weights)",
}
#: Epochs when none are asked for: a probe's epochs cost almost nothing (features are cached).
DEFAULT_EPOCHS = {"probe": 60, "last_stage": 6, "full": 6, "scratch": 6}
MAX_EPOCHS = 500
#: AdamW's learning rate per mode: a fresh head learns fast; pretrained weights move gently.
LEARNING_RATES = {"probe": 1e-2, "last_stage": 1e-3, "full": 3e-4, "scratch": 1e-3}
WEIGHT_DECAY = 1e-4
#: Images per step when none is asked for and the memory allows; halved down to
#: :data:`MIN_AUTO_BATCH` until the run fits (ResNet-50 fine-tuned at 224 px needs about 5 GiB
#: at 32, over a 3 GiB CPU budget).
BATCH_SIZE = 32
MIN_AUTO_BATCH = 4
_BYTES_PER_FLOAT = 4
#: Intra-op threads of a CPU run: one. A run reproduces only at a fixed thread count, and with
#: other sessions busy on the cores two threads run a small network several times slower than
#: one (each OpenMP barrier waits for a parked thread; resnet_viz.training.demo_model measured it).
THREADS = 1


@dataclass(frozen=True)
class EpochRecord:
    """One epoch: the mean loss and the accuracy on the training images as they were trained on
    (augmented, in train mode), then on the validation images (evaluation view, eval mode).
    Epoch 0 is the network before training (its training numbers are NaN)."""

    epoch: int
    train_loss: float
    train_accuracy: float
    validation_loss: float
    validation_accuracy: float
    seconds: float


@dataclass(frozen=True)
class TrainingProgress:
    """What a progress callback receives: ``stage`` is ``"features"`` (a probe's feature pass,
    ``done`` of ``total`` images) or ``"epoch"`` (``done`` of ``total`` epochs), with every
    epoch finished so far."""

    stage: str
    done: int
    total: int
    history: tuple[EpochRecord, ...]


@dataclass(frozen=True, eq=False)
class FineTuned:
    """A trained network and its record.

    Attributes:
        model: a new ResNet (eval mode, no gradients kept) with the best epoch's weights; its
            ``fc`` has one output per class.
        classes: the class names, in label order.
        preprocessing: the evaluation transform the network expects (the given one).
        mode: one of :data:`MODES`.
        history: epoch 0 (before training), then one :class:`EpochRecord` per epoch run.
        best_epoch: the epoch whose weights ``model`` holds.
        split: the training and validation indices into the data.
        predictions: the class ``model`` predicts for each validation image, in ``split`` order.
        confusion: K x K counts on the validation images: row = true class, column = predicted.
        stopped: True when the run was stopped before its last epoch.
        batch_size: the images per step it trained with.
        device: where it ran; ``fell_back_to_cpu``: the accelerator ran out of memory.
        seconds: the whole run's wall time.
    """

    model: ResNet
    classes: tuple[str, ...]
    preprocessing: Preprocessing
    mode: str
    history: tuple[EpochRecord, ...]
    best_epoch: int
    split: Split
    predictions: tuple[int, ...]
    confusion: np.ndarray
    stopped: bool
    device: str
    seconds: float
    fell_back_to_cpu: bool = False
    batch_size: int = BATCH_SIZE

    def checkpoint(self) -> bytes:
        """The trained network as a ``"resnet-viz-demo/1"`` file's bytes (its classes and
        preprocessing included; ``torch.load(..., weights_only=True)`` reads it), which the
        checkpoint upload of every page opens."""
        p = self.preprocessing
        extra = {"resize": p.resize, "trained": self.mode}
        return checkpoint_bytes(self.model, classes=self.classes, input_size=p.size, mean=p.mean,
                                std=p.std, extra=extra)  # fmt: skip

    def per_class_accuracy(self) -> dict[str, float]:
        """The share of each class's validation images predicted right (NaN: none held out)."""
        rows = self.confusion.sum(1)
        return {
            name: float(self.confusion[i, i] / rows[i]) if rows[i] else math.nan
            for i, name in enumerate(self.classes)
        }

    def wrong(self, labels: tuple[int, ...]) -> list[tuple[int, int, int]]:
        """``(index into the data, true class, predicted class)`` of each validation image the
        network gets wrong, given the data's labels."""
        return [
            (i, labels[i], p)
            for i, p in zip(self.split.validation, self.predictions, strict=True)
            if p != labels[i]
        ]


def fine_tune(
    model: ResNet,
    data: ImageFolder,
    mode: str = "probe",
    *,
    preprocessing: Preprocessing,
    epochs: int | None = None,
    seed: int = 0,
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION,
    learning_rate: float | None = None,
    batch_size: int | None = None,
    progress: Callable[[TrainingProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> FineTuned:
    """Train a new network on ``data`` from ``model`` (see the module docstring for the modes).

    Args:
        model: the app's ResNet in eval mode, only read (``"scratch"`` takes its spec alone).
        data: labelled images (:func:`resnet_viz.image_folder`).
        mode: one of :data:`MODES`.
        preprocessing: the model's evaluation transform (size, resize, mean, std).
        epochs: passes over the training images (default :data:`DEFAULT_EPOCHS` of the mode).
        seed: the split, the new weights, the shuffling and the crops.
        validation_fraction: the share of each class held out.
        learning_rate: AdamW's (default :data:`LEARNING_RATES` of the mode).
        batch_size: images per step; None: the largest of 32, 16, 8 or 4 that fits this
            device's memory budget (:data:`BATCH_SIZE`).
        progress: called with a :class:`TrainingProgress` after each feature batch and epoch.
        should_stop: polled after every epoch; True ends the run, keeping the best epoch.

    Raises:
        SpecError: an unknown mode, epochs or batch size out of range, a model in train mode.
        DatasetError: a class with fewer than two images (nothing to validate it on).
        BudgetError: the run's memory estimate is over this device's budget.
    """
    if mode not in MODES:
        raise SpecError(f"Unknown training mode {mode!r}: choose one of {', '.join(MODES)}.")
    epochs = DEFAULT_EPOCHS[mode] if epochs is None else epochs
    _check_int("epochs", epochs, 1, MAX_EPOCHS)
    if batch_size is not None:
        _check_int("batch_size", batch_size, 1, 1024)
    if model.training:
        raise SpecError("The model must be in eval mode (call .eval() on it first).")
    counts = data.counts()
    thin = [name for name, n in counts.items() if n < 2]
    if thin:
        raise DatasetError(
            f"Every class needs at least two images (one to learn from, one to check on): "
            f"{', '.join(thin)} {'has' if len(thin) == 1 else 'have'} fewer."
        )
    split = stratified_split(data.labels, validation_fraction, seed=seed)
    spec = dataclasses.replace(model.spec, num_classes=len(data.classes))
    home = model_device(model)
    batch_size = _fitting_batch(spec, preprocessing, mode, batch_size, len(data.images), home)
    backbone = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()
                if not k.startswith("fc.")}  # fmt: skip
    pixels = PreparedPixels.of(data, preprocessing, split, mode)
    lr = LEARNING_RATES[mode] if learning_rate is None else float(learning_rate)
    started = time.perf_counter()

    def work(where: torch.device) -> tuple[ResNet, list[EpochRecord], int, bool, tuple[int, ...]]:
        with deterministic_run(seed, threads=THREADS):
            net = build_model(spec)
            if mode != "scratch":
                # The new head starts at zero: every class scores 0, so epoch 0 is chance
                # (1/K), not whatever a random head happens to get right.
                head = {k: torch.zeros_like(v) for k, v in net.state_dict().items()
                        if k.startswith("fc.")}  # fmt: skip
                net.load_state_dict({**backbone, **head})  # strict: the same spec but fc
            net = net.to(where)
            run = _Run(net, pixels, split, torch.tensor(data.labels), mode, where, lr,
                       batch_size, seed)  # fmt: skip
            return run.train(epochs, progress, should_stop)

    done = run_with_cpu_fallback(work, home)
    net, history, best, stopped, predictions = done.value
    net.eval().requires_grad_(False)
    k = len(data.classes)
    confusion = np.zeros((k, k), dtype=np.int64)
    for i, guess in zip(split.validation, predictions, strict=True):
        confusion[data.labels[i], guess] += 1
    return FineTuned(
        model=net,
        classes=tuple(data.classes),
        preprocessing=preprocessing,
        mode=mode,
        history=tuple(history),
        best_epoch=best,
        split=split,
        predictions=predictions,
        confusion=confusion,
        stopped=stopped,
        device=str(done.device),
        seconds=time.perf_counter() - started,
        fell_back_to_cpu=done.fell_back,
        batch_size=batch_size,
    )


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SpecError(f"{name} must be a whole number from {low} to {high}, got {value!r}.")


def _memory_bytes(spec, preprocessing: Preprocessing, mode: str, batch_size: int,
                  images: int) -> int:  # fmt: skip
    """A run's rough peak: one batch's activations, kept for the backward pass (a probe's
    forward passes keep none: counted once), the weights four times (weights, gradients,
    AdamW's two moments), the prepared pixels."""
    size = (spec.in_channels, preprocessing.size, preprocessing.size)
    summary = summarize(spec, size, batch_size)
    weights = summary.total_params * _BYTES_PER_FLOAT
    side = train_side(preprocessing)
    pixels = images * spec.in_channels * (side * side + preprocessing.size**2)
    activations = summary.total_activation_bytes * (1 if mode == "probe" else 2)
    return activations + 4 * weights + pixels


def _fitting_batch(spec, preprocessing: Preprocessing, mode: str, asked: int | None, images: int,
                   device: torch.device) -> int:  # fmt: skip
    """The batch size to train with: the one asked for, or else the largest of
    :data:`BATCH_SIZE`, half of it, a quarter, ... (down to :data:`MIN_AUTO_BATCH`) whose run
    fits this device's memory budget. Refused over the budget (the smallest tried, when none
    was asked for)."""
    budget = memory_budget_bytes(device)
    candidates = [asked] if asked is not None else []
    size = BATCH_SIZE
    while asked is None and size >= MIN_AUTO_BATCH:
        candidates.append(size)
        size //= 2
    for batch in candidates:
        if _memory_bytes(spec, preprocessing, mode, batch, images) <= budget:
            return batch
    refuse_over_budget(
        _memory_bytes(spec, preprocessing, mode, candidates[-1], images), budget,
        f"Training on {images} images, {candidates[-1]} at a time",
        "Use fewer images, a linear probe or a smaller network.",
    )  # fmt: skip
    return candidates[-1]  # not reached: the refusal raises


def _logits(net: ResNet, images: torch.Tensor, batch_size: int, device: torch.device):
    out = [net(images[s : s + batch_size].to(device)).float().cpu()
           for s in range(0, len(images), batch_size)]  # fmt: skip
    return torch.cat(out)


class _Run:
    """One training run's state: the network, its optimiser and schedule, the epochs so far."""

    def __init__(self, net: ResNet, pixels: PreparedPixels, split: Split, labels: torch.Tensor,
                 mode: str, device: torch.device, lr: float, batch_size: int,
                 seed: int) -> None:  # fmt: skip
        self.net, self.pixels, self.labels, self.mode = net, pixels, labels, mode
        self.device, self.batch_size = device, batch_size
        self.train_index = torch.tensor(split.train, dtype=torch.long)
        self.val_index = torch.tensor(split.validation, dtype=torch.long)
        self.generator = torch.Generator().manual_seed(seed)
        trainable = self._trainable()
        for p in net.parameters():
            p.requires_grad_(False)
        for p in trainable:
            p.requires_grad_(True)
        self.optimizer = torch.optim.AdamW(trainable, lr=lr, weight_decay=WEIGHT_DECAY)
        self.features: tuple[torch.Tensor, torch.Tensor] | None = None

    def _trainable(self) -> list[torch.nn.Parameter]:
        if self.mode == "probe":
            return list(self.net.fc.parameters())
        if self.mode == "last_stage":
            return [*self.net.stages[-1].parameters(), *self.net.fc.parameters()]
        return list(self.net.parameters())

    def _set_modes(self) -> None:
        """Train mode only where weights are trained: frozen BatchNorm keeps its statistics."""
        self.net.eval()
        if self.mode == "last_stage":
            self.net.stages[-1].train()
            self.net.fc.train()
        elif self.mode in ("full", "scratch"):
            self.net.train()

    def train(self, epochs: int, progress, should_stop):
        """The epochs; returns the network holding the best epoch's weights, the history, the
        best epoch, whether it was stopped, and the best epoch's validation predictions."""
        if self.mode == "probe":
            self.features = self._probe_features(progress)
        steps = epochs * math.ceil(len(self.train_index) / self.batch_size)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=steps)
        start = time.perf_counter()
        # A zero head's logits are 0 for every image, whatever the backbone: no pass needed.
        zero = None
        if self.mode != "scratch":
            zero = torch.zeros(len(self.val_index), self.net.fc.out_features, device=self.device)
        loss, accuracy, predictions = self._validate(zero)
        history = [EpochRecord(0, math.nan, math.nan, loss, accuracy, time.perf_counter() - start)]
        best, best_state, stopped = 0, self._changing_state(), False
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            train_loss, train_accuracy = self._epoch(scheduler)
            loss, accuracy, guesses = self._validate()
            history.append(EpochRecord(epoch, train_loss, train_accuracy, loss, accuracy,
                                       time.perf_counter() - start))  # fmt: skip
            kept = history[best]
            if (accuracy, -loss) > (kept.validation_accuracy, -kept.validation_loss):
                best, best_state = epoch, self._changing_state()
                predictions = guesses
            if progress is not None:
                progress(TrainingProgress("epoch", epoch, epochs, tuple(history)))
            if epoch < epochs and should_stop is not None and should_stop():
                stopped = True
                break
        self.net.load_state_dict({**self.net.state_dict(), **best_state})
        return self.net, history, best, stopped, predictions

    def _changing_state(self) -> dict[str, torch.Tensor]:
        """A copy of the weights and statistics training can change (a probe's head alone:
        copying ResNet-50's 98 MB at each better epoch would cost more than its training)."""
        if self.mode == "probe":
            prefixes: tuple[str, ...] = ("fc.",)
        elif self.mode == "last_stage":
            prefixes = (f"layer{self.net.spec.num_stages}.", "fc.")
        else:
            prefixes = ("",)
        return {k: v.detach().clone() for k, v in self.net.state_dict().items()
                if k.startswith(prefixes)}  # fmt: skip

    def _probe_features(self, progress) -> tuple[torch.Tensor, torch.Tensor]:
        """The frozen backbone's pooled features of every image, once (evaluation view)."""
        total = len(self.labels)
        out = []
        for start in range(0, total, self.batch_size):
            index = torch.arange(start, min(start + self.batch_size, total))
            out.append(pooled_features(self.net, self.pixels.evaluation(index).to(self.device)))
            if progress is not None:
                progress(TrainingProgress("features", int(index[-1]) + 1, total, ()))
        # A new tensor outside inference mode: a probe's head is trained on these.
        features = torch.cat(out).to(self.device).clone()
        return features[self.train_index], features[self.val_index]

    def _epoch(self, scheduler) -> tuple[float, float]:
        self._set_modes()
        order = self.train_index[torch.randperm(len(self.train_index), generator=self.generator)]
        loss_sum, correct = 0.0, 0
        for start in range(0, len(order), self.batch_size):
            index = order[start : start + self.batch_size]
            y = self.labels[index].to(self.device)
            if self.features is not None:
                rows = torch.searchsorted(self.train_index, index)
                logits = self.net.fc(self.features[0][rows])
            else:
                logits = self.net(self.pixels.augmented(index, self.generator).to(self.device))
            loss = F.cross_entropy(logits, y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            scheduler.step()
            loss_sum += float(loss.detach()) * len(index)
            correct += int((logits.detach().argmax(1) == y).sum())
        self.net.eval()
        return loss_sum / len(order), correct / len(order)

    def _validate(self, logits: torch.Tensor | None = None) -> tuple[float, float, tuple[int, ...]]:
        """Loss, accuracy and predictions on the validation images (of ``logits`` when known)."""
        self.net.eval()
        y = self.labels[self.val_index].to(self.device)
        with torch.inference_mode():
            if logits is None and self.features is not None:
                logits = self.net.fc(self.features[1])
            elif logits is None:
                logits = _logits(self.net, self.pixels.evaluation(self.val_index),
                                 self.batch_size, self.device).to(self.device)  # fmt: skip
            loss = float(F.cross_entropy(logits, y))
            guesses = logits.argmax(1)
            accuracy = float((guesses == y).float().mean())
        return loss, accuracy, tuple(guesses.tolist())
