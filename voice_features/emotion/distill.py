"""Knowledge distillation of the SER CRNN: a larger teacher first, then the serving-size student.

The student learns from the teacher's softened posteriors and from the labels at once
(Hinton et al. 2015):

``loss = α · T² · KL(softmax(z_t / T) ‖ softmax(z_s / T)) + (1 − α) · CE(z_s, y)``

The ``T²`` factor keeps the soft-target gradients on the scale of the hard-label ones
when the temperature changes. The teacher sees the very same augmented batch as the
student, so its soft targets describe what the student is shown.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from voice_features.emotion.model import CRNNConfig, EmotionCRNN

__all__ = ["DistillationLoss", "teacher_config", "model_size"]


class DistillationLoss(nn.Module):
    """Temperature-scaled KL to the teacher plus the hard-label loss, weighted by ``alpha``."""

    def __init__(self, teacher: nn.Module, *, hard_loss: nn.Module, temperature: float = 4.0,
                 alpha: float = 0.5) -> None:
        super().__init__()
        if temperature <= 0 or not 0 <= alpha <= 1:
            raise ValueError("temperature must be > 0 and alpha in [0, 1]")
        self.teacher, self.hard_loss = teacher.eval(), hard_loss
        self.temperature, self.alpha = temperature, alpha

    def train(self, mode: bool = True) -> DistillationLoss:
        """The teacher stays in eval mode (no dropout, fixed BatchNorm statistics) whatever ``mode`` is."""
        super().train(mode)
        self.teacher.eval()
        return self

    def forward(self, student_logits: torch.Tensor, target: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            teacher_logits = self.teacher(batch)
        t = self.temperature
        soft = nn.functional.kl_div(torch.log_softmax(student_logits / t, dim=-1),
                                    torch.log_softmax(teacher_logits / t, dim=-1),
                                    reduction="batchmean", log_target=True)
        return self.alpha * t * t * soft + (1 - self.alpha) * self.hard_loss(student_logits, target)


def teacher_config(student: CRNNConfig, *, width: int = 2) -> CRNNConfig:
    """The teacher: the student's architecture, ``width`` times wider in every layer."""
    return replace(student, conv_channels=tuple(width * c for c in student.conv_channels),
                   lstm_hidden=width * student.lstm_hidden, attention_dim=width * student.attention_dim,
                   embedding_dim=width * student.embedding_dim)


def model_size(model: EmotionCRNN) -> dict[str, int]:
    """Parameter count and FP32 weight bytes."""
    params = sum(p.numel() for p in model.parameters())
    return {"parameters": int(params), "fp32_bytes": int(4 * params)}
