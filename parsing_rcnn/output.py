"""The parsing output module: a ×2 transposed conv to K part logits, then bilinear upsampling
(methods.md §2.4(b) step 6). Enlarging ROI resolution (ERR) is pooled 14/32/64 → output 4×."""
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ParsingOutput"]


class ParsingOutput(nn.Module):
    """(R, C, S, S) head features → (R, K, RESOLUTION, RESOLUTION) logits, S = pooled size."""

    def __init__(self, in_channels: int, num_parsing: int, pooled_resolution: int, resolution: int):
        super().__init__()
        if resolution % (2 * pooled_resolution) != 0:
            raise ValueError(
                f"ROI_PARSING_HEAD.RESOLUTION ({resolution}) must be a multiple of "
                f"2 × POOLER_RESOLUTION ({pooled_resolution})"
            )
        self.up_scale = resolution // (2 * pooled_resolution)
        self.deconv = nn.ConvTranspose2d(in_channels, num_parsing, 4, stride=2, padding=1)
        nn.init.kaiming_normal_(self.deconv.weight, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(self.deconv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.deconv(x)
        if self.up_scale > 1:
            x = F.interpolate(x, scale_factor=self.up_scale, mode="bilinear", align_corners=False)
        return x
