"""The SER network: CNN blocks with BatchNorm, a BiLSTM, self-attention pooling, a head.

Input is a batch of log-mel windows ``(batch, frames, mels)``; the per-band mean and
standard deviation of the training set live in the model as buffers, so exported
TorchScript/ONNX models take raw log-mels and normalise them the same way.
The penultimate layer (after attention pooling and one dense layer) is the emotion
embedding.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from voice_features.emotion.features import N_MELS

__all__ = ["CRNNConfig", "EmotionCRNN"]


@dataclass(frozen=True)
class CRNNConfig:
    """Architecture hyper-parameters (stored in the registry metadata)."""

    n_classes: int
    n_mels: int = N_MELS
    conv_channels: tuple[int, ...] = (16, 32, 64)
    lstm_hidden: int = 64
    attention_dim: int = 64
    embedding_dim: int = 64
    dropout: float = 0.3
    labels: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> CRNNConfig:
        return cls(
            **{**data, "conv_channels": tuple(data["conv_channels"]), "labels": tuple(data["labels"])}
        )


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
        nn.MaxPool2d(2),
    )


class EmotionCRNN(nn.Module):
    """CRNN emotion classifier; ``forward`` gives logits, ``embed`` the penultimate layer."""

    def __init__(self, config: CRNNConfig) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("feature_mean", torch.zeros(config.n_mels))
        self.register_buffer("feature_std", torch.ones(config.n_mels))
        channels = (1, *config.conv_channels)
        self.cnn = nn.Sequential(*[_conv_block(a, b) for a, b in zip(channels, channels[1:])])
        reduced_mels = config.n_mels // 2 ** len(config.conv_channels)
        self.lstm = nn.LSTM(
            channels[-1] * reduced_mels, config.lstm_hidden, batch_first=True, bidirectional=True
        )
        self.attention = nn.Sequential(
            nn.Linear(2 * config.lstm_hidden, config.attention_dim),
            nn.Tanh(),
            nn.Linear(config.attention_dim, 1, bias=False),
        )
        self.dropout = nn.Dropout(config.dropout)
        self.embedding = nn.Linear(2 * config.lstm_hidden, config.embedding_dim)
        self.classifier = nn.Linear(config.embedding_dim, config.n_classes)

    def set_normalisation(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store the training set's per-band log-mel mean and SD (std floored at 1e-3)."""
        self.feature_mean.copy_(mean)
        self.feature_std.copy_(torch.clamp(std, min=1e-3))

    def embed(self, logmel: torch.Tensor) -> torch.Tensor:
        """Emotion embedding, shape (batch, embedding_dim), from (batch, frames, mels)."""
        x = (logmel - self.feature_mean) / self.feature_std
        x = self.cnn(x.transpose(1, 2).unsqueeze(1))  # (B, C, mels', frames')
        b, c, f, t = x.shape
        x = x.permute(0, 3, 1, 2).reshape(b, t, c * f)
        x, _ = self.lstm(x)
        weights = torch.softmax(self.attention(x), dim=1)  # (B, T', 1), attention over time
        pooled = (weights * x).sum(dim=1)
        return torch.relu(self.embedding(self.dropout(pooled)))

    def forward(self, logmel: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.embed(logmel)))
