"""Batch class balancing of a per-pixel cross-entropy: a quick-schedule option, not in the papers.

From scratch and with few iterations, the large classes (background, clothes) dominate the mean
cross-entropy and small parts (shoes, gloves, sunglasses, left/right limbs) stay unlearned. With
``power`` p > 0 each valid pixel of class c is weighted by ``(n_c / N) ** -p`` (n_c its class
count in the batch, N the valid pixels), rescaled so the mean weight over the valid pixels is 1;
the loss keeps its scale and p = 0 gives every pixel weight 1 (the faithful loss).
"""
import torch

__all__ = ["class_balanced_pixel_weights"]


def class_balanced_pixel_weights(
    targets: torch.Tensor, num_classes: int, power: float, ignore_label: int = 255, max_ratio: float = 50.0
) -> torch.Tensor:
    """Per-pixel weights (same shape as ``targets``, float), 0 on ignored pixels.

    Args:
        targets: integer labels; values outside ``[0, num_classes)`` or equal to ``ignore_label``
            are ignored.
        power: exponent p of the inverse class frequency (0: uniform weights).
        max_ratio: cap on the ratio between the largest and the smallest class weight, so a
            class with a handful of pixels in the batch cannot dominate it.
    """
    if power < 0:
        raise ValueError(f"class balancing power must be >= 0, got {power}")
    valid = (targets >= 0) & (targets < num_classes) & (targets != ignore_label)
    n_valid = valid.sum()
    if power == 0 or n_valid == 0:
        return valid.to(torch.float32)
    labels = torch.where(valid, targets, torch.zeros_like(targets)).long()
    counts = torch.bincount(labels[valid], minlength=num_classes).to(torch.float32)
    freq = counts / n_valid.to(torch.float32)
    class_w = torch.where(counts > 0, freq.clamp(min=1e-12) ** (-power), torch.zeros_like(freq))
    present = counts > 0
    class_w = torch.minimum(class_w, class_w[present].min() * max_ratio)
    w = class_w[labels] * valid
    return w * (n_valid.to(torch.float32) / w.sum())
