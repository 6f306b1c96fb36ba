"""One training step of a small transformer block, built in code: ``sqrtwatch trace`` on it.

Pre-norm block (RMSNorm before attention, LayerNorm before the MLP), causal scaled-dot-product
attention, dropout, an MSE loss, gradient clipping and an AdamW step. Weights are seeded; nothing
is downloaded. ``step`` builds the block on its first call and trains it one step per call.
"""

from __future__ import annotations

import functools

import torch
import torch.nn as nn
import torch.nn.functional as F

DIM, HEADS, HIDDEN, BATCH, TOKENS = 256, 4, 1024, 4, 64


class Block(nn.Module):
    """Attention and MLP sub-blocks with residual connections and dropout."""

    def __init__(self, dim: int = DIM, heads: int = HEADS, hidden: int = HIDDEN, dropout: float = 0.1):
        super().__init__()
        # nn.RMSNorm arrived in torch 2.4; older versions get a LayerNorm there too.
        self.attn_norm = nn.RMSNorm(dim, eps=1e-6) if hasattr(nn, "RMSNorm") else nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim, bias=False)
        self.mlp_norm = nn.LayerNorm(dim)
        self.up = nn.Linear(dim, hidden)
        self.down = nn.Linear(hidden, dim)
        self.dropout = nn.Dropout(dropout)
        self.heads = heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        qkv = self.qkv(self.attn_norm(x)).view(b, t, 3, self.heads, d // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.dropout(self.proj(attended.transpose(1, 2).reshape(b, t, d)))
        return x + self.dropout(self.down(F.gelu(self.up(self.mlp_norm(x)))))


@functools.cache
def _state():
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = Block().train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    inputs = torch.randn(BATCH, TOKENS, DIM, generator=generator)
    targets = torch.randn(BATCH, TOKENS, DIM, generator=generator)
    return model, optimizer, inputs, targets


def step() -> float:
    """One training step; returns the loss."""
    model, optimizer, inputs, targets = _state()
    loss = F.mse_loss(model(inputs), targets)
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
    return loss.item()
