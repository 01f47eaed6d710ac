"""Where every parameter of a run lives in the trainer's flat ``[K, P]`` parameter buffer.

Each run's parameters are contiguous, so the optimiser, the divergence freeze and the penalties
are single elementwise ops on the buffer; ``views`` gives the ``[K, *shape]`` tensors the batched
forward and backward passes use.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Slot:
    """Where one parameter tensor lives in a run's flat parameter vector."""

    start: int
    shape: tuple[int, ...]

    @property
    def stop(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return self.start + n

    def view(self, flat: torch.Tensor) -> torch.Tensor:
        """``[K, *shape]`` view into a flat ``[K, P]`` buffer (writes go through)."""
        return flat[:, self.start : self.stop].view(flat.shape[0], *self.shape)


class Layout:
    """Offsets of every parameter: per layer W [out, in], b [out, 1]; per hidden layer optionally
    PReLU slope [out, 1], BatchNorm gamma [out, 1] and beta [out, 1]. Order = gradient order.

    With batch norm the hidden layers have no bias: BN subtracts it again, its exact gradient is
    zero, and Adam would turn the float noise in that zero into random steps."""

    def __init__(self, dims: list[int], *, prelu: bool, batch_norm: bool):
        self.dims = dims
        self.n_hidden = len(dims) - 2
        self.slots: list[dict[str, Slot]] = []
        offset = 0
        for i, (n_in, n_out) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
            hidden = i < self.n_hidden
            names = ["W"] if hidden and batch_norm else ["W", "b"]
            if hidden:
                names += (["slope"] if prelu else []) + (["gamma", "beta"] if batch_norm else [])
            layer = {}
            for name in names:
                shape = (n_out, n_in) if name == "W" else (n_out, 1)
                layer[name] = Slot(offset, shape)
                offset = layer[name].stop
            self.slots.append(layer)
        self.size = offset

    def views(self, flat: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        """Views ``[K, *shape]`` into a flat ``[K, P]`` buffer (writes go through)."""
        return [{name: s.view(flat) for name, s in layer.items()} for layer in self.slots]

    def initialise(self, flat: torch.Tensor, seed_weights: list, slopes: list[float]) -> None:
        """Initial values: run k takes the weights ``seed_weights[k % S]`` (per layer ``(W [out, in],
        b [out])``), BatchNorm gamma = 1 and beta = 0, PReLU slope ``slopes[k]``."""
        n_seeds = len(seed_weights)
        views = self.views(flat)
        for j, weights in enumerate(seed_weights):
            for layer, (w, b) in zip(views, weights, strict=True):
                layer["W"][j::n_seeds] = w
                if "b" in layer:
                    layer["b"][j::n_seeds] = b[:, None]
        for layer in views[:-1]:
            if "gamma" in layer:
                layer["gamma"].fill_(1.0)
            if "slope" in layer:
                layer["slope"].copy_(torch.tensor(slopes).view(-1, 1, 1).expand_as(layer["slope"]))

    def weight_mask(self) -> torch.Tensor:
        """``[1, P]``: 1 on weight matrices (the entries L1/L2 penalise), 0 elsewhere."""
        mask = torch.zeros(1, self.size)
        for layer in self.slots:
            mask[:, layer["W"].start : layer["W"].stop] = 1.0
        return mask

    def state_dict(self, flat_run: torch.Tensor, running, run: int, prelu: bool, steps: int) -> dict:
        """One run's parameters (``flat_run [P]``) and BatchNorm running statistics (``running``:
        per hidden layer ``(mean, var) [K, width, 1]`` or None), keyed like the ``nn.Sequential``
        of :func:`nnviz.engine.model.reference_model`; ``steps`` is BatchNorm's num_batches_tracked."""
        out: dict[str, torch.Tensor] = {}
        index = 0
        for i, layer in enumerate(self.slots):
            p = {name: s.view(flat_run[None])[0].clone() for name, s in layer.items()}
            out[f"{index}.weight"] = p["W"]
            if "b" in p:
                out[f"{index}.bias"] = p["b"][:, 0]
            index += 1
            if i == self.n_hidden:
                break
            if "gamma" in p:
                out[f"{index}.weight"], out[f"{index}.bias"] = p["gamma"][:, 0], p["beta"][:, 0]
                out[f"{index}.running_mean"] = running[i][0][run, :, 0].clone()
                out[f"{index}.running_var"] = running[i][1][run, :, 0].clone()
                out[f"{index}.num_batches_tracked"] = torch.tensor(steps)
                index += 1
            if prelu:
                out[f"{index}.weight"] = p["slope"][:, 0]
            index += 1
        return out
