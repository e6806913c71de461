"""HF-style _init_weights(module): N(0, initializer_range) on every Linear of an unnormalized GELU MLP."""

import torch.nn as nn

MODEL = "FeedForwardStack"
VARIANTS = [dict(num_layers=3), dict(num_layers=6, hidden_size=96)]
FEEDS = {r"layers\.\d+\.fc": "gelu", "proj": "linear|gelu"}


class Block(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.fc = nn.Linear(hidden_size, hidden_size)
        self.act = nn.GELU()

    def forward(self, x):
        return self.act(self.fc(x))


class FeedForwardStack(nn.Module):
    def __init__(self, num_layers=4, hidden_size=64, initializer_range=0.02):
        super().__init__()
        self.initializer_range = initializer_range
        self.layers = nn.ModuleList([Block(hidden_size) for _ in range(num_layers)])
        self.proj = nn.Linear(hidden_size, 8)
        self.apply(self._init_weights)

    def _init_weights(self, module):
        """Initialize the weights."""
        if isinstance(module, nn.Linear):
            module.weight.data.normal_(mean=0.0, std=self.initializer_range)
            if module.bias is not None:
                module.bias.data.zero_()
        elif isinstance(module, nn.LayerNorm):
            module.bias.data.zero_()
            module.weight.data.fill_(1.0)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.proj(x)
