"""The baselines of Integrated Gradients and DeepLift: what "no signal" means for an image.

In normalised space a zero tensor *is* the dataset's mean colour; black, a blurred copy and
uniform noise are the other common choices (Sturmfels, Lundberg, Lee 2020, "Visualizing the
Impact of Feature Attribution Baselines", Distill).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torchvision.transforms.functional import gaussian_blur

from ...core.spec import SpecError
from ...data.images import IMAGENET_MEAN, IMAGENET_STD

#: The baselines of Integrated Gradients and DeepLift (:func:`make_baseline`).
BASELINES = ("black", "blurred", "noise", "mean")


#: The blurred baseline's Gaussian, as a fraction of the image's shorter side (Sturmfels, Lundberg
#: & Lee 2020, "Visualizing the Impact of Feature Attribution Baselines", Distill,
#: doi:10.23915/distill.00022: a blur wide enough to remove the object's detail).
BLUR_SIGMA_FRACTION = 1 / 16


#: The seed of the noise baseline and of the noise tunnels' samples: the same call gives the
#: same map (results are cached and compared between methods).
DEFAULT_SEED = 0


def make_baseline(
    image: torch.Tensor,
    kind: str,
    *,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    seed: int = DEFAULT_SEED,
) -> torch.Tensor:
    """The reference input ``b`` of Integrated Gradients and DeepLift, the shape of ``image``
    (already normalised with ``mean`` and ``std``):

    - ``"black"``: pixels of 0 in every channel, normalised: ``-mean / std``;
    - ``"blurred"``: the image under a Gaussian blur of sigma = the shorter side x
      :data:`BLUR_SIGMA_FRACTION` (blurring commutes with the per-channel normalisation, so the
      normalised image is blurred directly);
    - ``"noise"``: pixels drawn uniformly from [0, 1] (seeded), normalised;
    - ``"mean"``: a zero tensor. In normalised space zero *is* the dataset's mean colour
      (``(mean - mean) / std``): the baseline many papers and captum's examples call "zero"
      is a flat image of the training set's average colour, not a black one.
    """
    if kind not in BASELINES:
        raise SpecError(f"The baseline must be one of {', '.join(BASELINES)}; got {kind!r}.")
    channels = image.shape[1]
    if kind != "blurred" and not len(mean) == len(std) == channels:
        raise SpecError(
            f"The image has {channels} channels but the normalisation has {len(mean)} means "
            f"and {len(std)} standard deviations."
        )
    shape = (1, channels, 1, 1)
    mean_t = torch.tensor(mean, dtype=image.dtype, device=image.device).view(shape)
    std_t = torch.tensor(std, dtype=image.dtype, device=image.device).view(shape)
    if kind == "mean":
        return torch.zeros_like(image)
    if kind == "black":
        return (torch.zeros_like(image) - mean_t) / std_t
    if kind == "noise":
        generator = torch.Generator().manual_seed(seed)
        pixels = torch.rand(image.shape, generator=generator, dtype=image.dtype)
        return (pixels.to(image.device) - mean_t) / std_t
    sigma = max(min(image.shape[-2:]) * BLUR_SIGMA_FRACTION, 0.5)
    side = 2 * math.ceil(3 * sigma) + 1
    return gaussian_blur(image, kernel_size=[side, side], sigma=[sigma, sigma])
