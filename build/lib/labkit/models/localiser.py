"""Single-object localisers: a spiking encoder-decoder with additive skips and a feature pyramid, and its ANN twin.

Both twins have the same layers; the ANN uses ReLU where the SNN has
:class:`~labkit.spiking.LIF` neurons (snnTorch's ``Leaky`` semantics; the course
uses ``beta = 0.5`` and ``fast_sigmoid(slope=25)``, as Barchid et al.). The image
is shown at every one of ``num_steps`` steps (direct input).

Layout (side of the maps for a 64x64 canvas and the default ``stem_stride=4``;
``act`` is ReLU or LIF)::

    encoder   enc.0  conv k, stride 4, BN, act      16x16  channels c1
              enc.1  conv k, stride 2, BN, act       8x8   c2
              enc.2  conv k, stride 2, BN, act       4x4   c3
    decoder   p2 = act(lat.2(enc.2))                                      4x4   width
              p1 = act(lat.1(enc.1) + up(p2))    additive skip             8x8  width
              p0 = act(lat.0(enc.0) + up(p1))    additive skip            16x16 width
    heads     box: one 1x1 convolution shared by the pyramid p0, p1, p2 gives, at
                   every position, a score and the distances (l, t, r, b) to the box's sides;
              class: p0 inside the predicted box (RoIAlign to 4x4 cells), linear, 10 scores

``lat.k`` is a 1x1 convolution with BN; ``up`` doubles the side (nearest
neighbour). In the SNN, the skip adds the upsampled spikes of the coarser level
to the input current of the finer level's neurons (as the spiking ResNets of
:mod:`labkit.models.resnet` do at their shortcuts), and both heads read the mean
membrane of a non-spiking LIF over the steps (the class head reads the spikes of
``p0`` inside the box at every step).

**The box.** Each position of each pyramid level proposes a box (its centre
minus/plus the predicted distances, in units of the level's stride); a softmax of
the scores over *all* positions of all levels weighs the proposals, and the
prediction is their weighted mean. The box is therefore always valid
(``x2 > x1``), differentiable in every weight, and convolutional: a proposal
depends on what its position sees, not on where it is. The class is read inside
the predicted box (detached, so the class loss does not move the box), which
keeps the digit's layout that a pooled average would lose. Barchid et al. read the
box from fixed random readouts of the last layer instead (DECOLLE's local
readouts); a dense, translation-equivariant head learns from far fewer images,
which is what a few CPU-minutes allow.

Examples
--------
>>> import torch
>>> ann = localiser_ann(channels=(4, 8, 8), width=8)
>>> snn = localiser_snn(num_steps=2, channels=(4, 8, 8), width=8)
>>> scores, boxes = ann(torch.rand(3, 1, 64, 64))
>>> scores.shape, boxes.shape, bool((boxes[:, 2:] > boxes[:, :2]).all())
(torch.Size([3, 10]), torch.Size([3, 4]), True)
>>> [o.shape for o in snn(torch.rand(3, 1, 64, 64))]
[torch.Size([3, 10]), torch.Size([3, 4])]
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import roi_align

from ..data.localisation import paired_iou
from ..spiking import LIF, MeanOverTime, SpikeFn, SpikingSequential

__all__ = ["Localiser", "localiser_ann", "localiser_snn", "localisation_loss", "class_accuracy", "mean_iou",
           "BOX_LOSSES"]

#: Box losses :func:`labkit.models.localisation_loss` knows.
BOX_LOSSES = ("giou", "smooth_l1")
#: Side of the grid the class head reads inside the predicted box (RoIAlign on the finest pyramid level).
ROI = 4


def _up(x: torch.Tensor) -> torch.Tensor:
    """Double the last two sides (nearest neighbour), whatever the leading axes (``[B, ...]`` or ``[T, B, ...]``)."""
    return x.repeat_interleave(2, dim=-1).repeat_interleave(2, dim=-2)


class Localiser(nn.Module):
    """Encoder-decoder localiser (see the module docstring); ANN or SNN by the layers it is given.

    Use :func:`localiser_ann` and :func:`localiser_snn` to build one.
    ``forward(x)`` takes canvases ``[B, C, H, W]`` (``H`` and ``W`` multiples of 8)
    and returns ``(class scores [B, classes], boxes [B, 4])``, boxes in ``xyxy``
    pixel coordinates of the canvas. :meth:`locate` also returns where it looked.
    """

    def __init__(self, encoder: list[nn.Module], lateral: list[nn.Module], merge: list[nn.Module],
                 box_head: nn.Module, class_head: nn.Module, spiking: bool, roi: int = ROI) -> None:
        super().__init__()
        self.roi = roi
        self.enc = nn.ModuleList(encoder)
        self.lat = nn.ModuleList(lateral)
        self.merge = nn.ModuleList(merge)
        self.box_head = box_head
        self.class_head = class_head
        self.spiking = spiking

    def pyramid(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Encoder maps ``enc.0 .. enc.2`` and pyramid maps ``p0 .. p2`` (spikes ``[T, B, ...]`` in the SNN)."""
        if x.dim() != 4 or x.shape[-1] % 8 or x.shape[-2] % 8:
            raise ValueError(f"x must be canvases [B, C, H, W] with H and W multiples of 8, got {tuple(x.shape)}.")
        feats = []
        for stage in self.enc:
            x = stage(x)
            feats.append(x)
        levels: list[torch.Tensor] = [torch.empty(0)] * len(feats)
        top = None
        for k in reversed(range(len(feats))):
            current = self.lat[k](feats[k])
            top = self.merge[k](current if top is None else current + _up(top))
            levels[k] = top
        return feats, levels

    def locate(self, x: torch.Tensor) -> dict[str, Any]:
        """Scores, box, and the weight each pyramid position got: ``{"scores", "box", "weights": [maps per level]}``."""
        feats, levels = self.pyramid(x)
        side = x.shape[-1]
        logits, proposals, shapes = [], [], []
        for level in levels:
            raw = self.box_head(level)                        # [B, 5, h, w] (mean membrane in the SNN)
            b, _, h, w = raw.shape
            stride = side / w
            centre = (torch.arange(w, device=raw.device, dtype=raw.dtype) + 0.5) * stride
            middle = (torch.arange(h, device=raw.device, dtype=raw.dtype) + 0.5) * stride
            dist = stride * raw[:, 1:].clamp(-6.0, 6.0).exp()  # distances to the four sides, in pixels
            cx, cy = centre.view(1, 1, w).expand(b, h, w), middle.view(1, h, 1).expand(b, h, w)
            box = torch.stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]], dim=-1)
            logits.append(raw[:, 0].flatten(1))
            proposals.append(box.flatten(1, 2))
            shapes.append((h, w))
        weights = torch.softmax(torch.cat(logits, dim=1), dim=1)  # over all positions of all levels
        box = (weights.unsqueeze(-1) * torch.cat(proposals, dim=1)).sum(1)
        maps, start = [], 0
        for h, w in shapes:
            maps.append(weights[:, start:start + h * w].view(-1, h, w))
            start += h * w
        # the class reads the finest pyramid level inside the predicted box (RoIAlign, as in two-stage detectors),
        # which keeps the object's layout; the box is detached, so the class loss does not move it
        finest = levels[0]
        flat = finest.reshape(-1, *finest.shape[-3:])                       # [B or T*B, C, h, w]
        index = torch.arange(flat.shape[0], device=box.device, dtype=box.dtype)[:, None]
        rois = torch.cat([index, box.detach().repeat(flat.shape[0] // box.shape[0], 1)], dim=1)
        crops = roi_align(flat, rois, output_size=self.roi, spatial_scale=finest.shape[-1] / side, sampling_ratio=2,
                          aligned=True)
        pooled = crops.flatten(1).reshape(*finest.shape[:-3], -1)
        return {"scores": self.class_head(pooled), "box": box, "weights": maps}

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: D102
        out = self.locate(x)
        return out["scores"], out["box"]


def _conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False), nn.BatchNorm2d(c_out)]


def _check(channels: tuple[int, int, int], width: int, kernel: int) -> tuple[int, int, int]:
    chans = tuple(int(c) for c in channels)
    if len(chans) != 3 or min(chans) < 1 or width < 1:
        raise ValueError(f"channels must be three positive widths (c1, c2, c3) and width >= 1, got "
                         f"channels={channels!r}, width={width!r}.")
    if kernel < 1 or kernel % 2 == 0:
        raise ValueError(f"kernel must be odd and >= 1 (the maps keep their centre), got kernel={kernel!r}.")
    return chans  # type: ignore[return-value]


def localiser_ann(channels: tuple[int, int, int] = (16, 32, 64), width: int = 32, kernel: int = 5,
                  stem_stride: int = 4, in_channels: int = 1, num_classes: int = 10) -> Localiser:
    """The ANN twin: ReLU after every batch norm; the heads read the last convolution directly.

    Parameters
    ----------
    channels
        Channels of the three encoder stages.
    width
        Channels of every pyramid level.
    kernel
        Side of the encoder's convolutions (DECOLLE-style networks use 7).
    in_channels, num_classes
        Canvas channels (1 grey, 3 colour) and number of classes.
    """
    c1, c2, c3 = _check(channels, width, kernel)
    encoder = [nn.Sequential(*_conv_bn(c_in, c_out, kernel, stride=stride), nn.ReLU())
               for c_in, c_out, stride in ((in_channels, c1, stem_stride), (c1, c2, 2), (c2, c3, 2))]
    lateral = [nn.Sequential(*_conv_bn(c, width, 1)) for c in (c1, c2, c3)]
    merge = [nn.ReLU() for _ in range(3)]
    box_head = nn.Conv2d(width, 5, 1)
    class_head = nn.Linear(width * ROI * ROI, num_classes)
    return Localiser(encoder, lateral, merge, box_head, class_head, spiking=False)


def localiser_snn(num_steps: int, channels: tuple[int, int, int] = (16, 32, 64), width: int = 32, kernel: int = 5,
                  stem_stride: int = 4, beta: float = 0.5, spike_grad: SpikeFn | None = None, in_channels: int = 1,
                  num_classes: int = 10) -> Localiser:
    """The SNN twin: LIF neurons after every batch norm, heads that read a mean membrane over ``num_steps`` steps.

    Parameters
    ----------
    num_steps
        Time steps the canvas is shown for.
    channels, width, kernel, in_channels, num_classes
        As in :func:`localiser_ann`.
    beta
        Membrane decay of every LIF layer (0.5 in Barchid et al.).
    spike_grad
        Surrogate from :mod:`snntorch.surrogate` (default: snnTorch's ``atan``;
        the course uses ``fast_sigmoid(slope=25)``).
    """
    c1, c2, c3 = _check(channels, width, kernel)

    def lif(**kw: Any) -> LIF:
        return LIF(beta, spike_grad=spike_grad, **kw)

    def readout() -> list[nn.Module]:
        return [lif(reset_mechanism="none", output="membrane"), MeanOverTime()]

    encoder = [SpikingSequential(*_conv_bn(c_in, c_out, kernel, stride=stride), lif(), num_steps=num_steps,
                                 static_input=(k == 0))
               for k, (c_in, c_out, stride) in enumerate(((in_channels, c1, stem_stride), (c1, c2, 2), (c2, c3, 2)))]
    lateral = [SpikingSequential(*_conv_bn(c, width, 1), num_steps=num_steps, static_input=False) for c in (c1, c2, c3)]
    merge = [SpikingSequential(lif(), num_steps=num_steps, static_input=False) for _ in range(3)]
    box_head = SpikingSequential(nn.Conv2d(width, 5, 1), *readout(), num_steps=num_steps, static_input=False)
    class_head = SpikingSequential(nn.Linear(width * ROI * ROI, num_classes), *readout(), num_steps=num_steps,
                                   static_input=False)
    return Localiser(encoder, lateral, merge, box_head, class_head, spiking=True)


def localisation_loss(outputs: tuple[torch.Tensor, torch.Tensor], targets: tuple[torch.Tensor, torch.Tensor],
                      box_loss: str = "giou", box_weight: float = 1.0) -> torch.Tensor:
    """Cross-entropy on the class plus ``box_weight`` times a box loss; GIoU by default.

    Why GIoU rather than SmoothL1 (Barchid et al.'s choice)? SmoothL1 counts
    errors in pixels: a 3-pixel error costs the same on a 14-pixel digit as on a
    28-pixel one, although the IoU, by which the boxes are judged, suffers much
    more on the small one. The generalised IoU loss ``1 - GIoU``
    (:func:`torchvision.ops.generalized_box_iou_loss`, Rezatofighi et al. 2019)
    is scale-invariant, so every object size weighs the same, and unlike
    ``1 - IoU`` it still has a gradient when the boxes do not overlap (the
    enclosing box shrinks). It needs valid boxes, which the localisers' heads
    guarantee. ``box_loss="smooth_l1"`` gives the SmoothL1 loss on the
    coordinates in pixels (``beta`` = 1 px) for comparison; with it, lower
    ``box_weight`` (about 0.1), since its values are pixels, not fractions.

    Parameters
    ----------
    outputs
        ``(class scores [B, K], boxes [B, 4])``, boxes in ``xyxy`` pixels.
    targets
        ``(labels [B], boxes [B, 4])``.
    box_loss
        ``"giou"`` or ``"smooth_l1"``.
    box_weight
        Weight of the box loss against the cross-entropy.

    Examples
    --------
    >>> scores, box = torch.tensor([[2.0, 0.0]]), torch.tensor([[10.0, 10, 30, 30]])
    >>> round(localisation_loss((scores, box), (torch.tensor([0]), box)).item(), 4)  # perfect box: cross-entropy only
    0.1269
    """
    if box_loss not in BOX_LOSSES:
        raise ValueError(f"box_loss must be one of {BOX_LOSSES}, got {box_loss!r}.")
    from torchvision.ops import generalized_box_iou_loss

    scores, boxes = outputs
    labels, truth = targets
    if box_loss == "giou":
        box = generalized_box_iou_loss(boxes, truth.to(boxes), reduction="mean")
    else:
        box = F.smooth_l1_loss(boxes, truth.to(boxes), beta=1.0)
    return F.cross_entropy(scores, labels) + box_weight * box


def class_accuracy(outputs: tuple[torch.Tensor, torch.Tensor], targets: tuple[torch.Tensor, torch.Tensor]) -> float:
    """Fraction of canvases whose highest class score is the object's class.

    >>> class_accuracy((torch.tensor([[2.0, 0.0], [0.0, 1.0]]), None), (torch.tensor([0, 0]), None))
    0.5
    """
    return (outputs[0].argmax(-1) == targets[0]).double().mean().item()


def mean_iou(outputs: tuple[torch.Tensor, torch.Tensor], targets: tuple[torch.Tensor, torch.Tensor]) -> float:
    """Mean IoU of the predicted and true boxes (:func:`labkit.data.paired_iou`, i.e. ``torchvision.ops.box_iou``).

    >>> mean_iou((None, torch.tensor([[20.0, 20, 40, 40]])), (None, torch.tensor([[10.0, 10, 30, 30]])))
    0.1428571492433548
    """
    return paired_iou(outputs[1].detach().float(), targets[1].float()).mean().item()
