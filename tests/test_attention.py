"""Attention: query and key projections judged by the std of the logits the softmax reads."""

from __future__ import annotations

import pytest
from conftest import findings_for, line_of, run_json, write

BLOCKS = """
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


class ExplicitN01(nn.Module):
    \"\"\"Hand-written attention, N(0, 1) on a 64-wide block: logits of std 64.\"\"\"

    def __init__(self, dim=64, heads=4):
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(dim)
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.o = nn.Linear(dim, dim)
        nn.init.normal_(self.q.weight, 0.0, 1.0)  # query
        nn.init.normal_(self.k.weight, 0.0, 1.0)

    def forward(self, x):
        b, t, d = x.shape
        h = self.norm(x)
        q = self.q(h).view(b, t, self.heads, d // self.heads).transpose(1, 2)
        k = self.k(h).view(b, t, self.heads, d // self.heads).transpose(1, 2)
        v = self.v(h).view(b, t, self.heads, d // self.heads).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
        att = F.softmax(att, dim=-1)
        return x + self.o((att @ v).transpose(1, 2).reshape(b, t, d))


class PackedGPT(nn.Module):
    \"\"\"nanoGPT's packed c_attn, split into q, k, v; N(0, 0.5) at width 128: logits of std 32.\"\"\"

    def __init__(self, n_embd=128, n_head=4):
        super().__init__()
        self.n_head = n_head
        self.ln = nn.LayerNorm(n_embd)
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        nn.init.normal_(self.c_attn.weight, 0.0, 0.5)  # packed

    def forward(self, x):
        b, t, c = x.size()
        q, k, v = self.c_attn(self.ln(x)).split(c, dim=2)
        q = q.view(b, t, self.n_head, c // self.n_head).transpose(1, 2)
        k = k.view(b, t, self.n_head, c // self.n_head).transpose(1, 2)
        v = v.view(b, t, self.n_head, c // self.n_head).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return x + self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))


class RotaryGPT2Init(nn.Module):
    \"\"\"Rotary q and k at GPT-2's N(0, 0.02), width 128: logits of std 0.08; quiet.\"\"\"

    def __init__(self, dim=128):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(dim, dim, bias=False)
        self.v = nn.Linear(dim, dim, bias=False)
        for m in (self.q, self.k, self.v):
            nn.init.normal_(m.weight, 0.0, 0.02)
        self.register_buffer("cos", torch.ones(16, dim))
        self.register_buffer("sin", torch.zeros(16, dim))

    def forward(self, x):
        h = self.norm(x)
        q, k = self.q(h), self.k(h)
        q = q * self.cos + rotate_half(q) * self.sin
        k = k * self.cos + rotate_half(k) * self.sin
        return x + F.scaled_dot_product_attention(q, k, self.v(h))


class QKNorm(nn.Module):
    \"\"\"A LayerNorm on q and k sets their scale: N(0, 1) there is not judged by the logits.\"\"\"

    def __init__(self, dim=64):
        super().__init__()
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.q_norm = nn.LayerNorm(dim)
        self.k_norm = nn.LayerNorm(dim)
        nn.init.normal_(self.q.weight, 0.0, 1.0)
        nn.init.normal_(self.k.weight, 0.0, 1.0)

    def forward(self, x):
        q, k = self.q_norm(self.q(x)), self.k_norm(self.k(x))
        return F.scaled_dot_product_attention(q, k, self.v(x))


class TorchMHA(nn.Module):
    def __init__(self, dim=64):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, 4, batch_first=True)
        nn.init.normal_(self.attn.in_proj_weight, 0.0, 1.0)  # mha

    def forward(self, x):
        h = self.norm(x)
        return x + self.attn(h, h, h, need_weights=False)[0]
"""


@pytest.fixture(scope="module", params=["full", "static"])
def checked(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("attention")
    path = write(folder, "blocks.py", BLOCKS)
    mode = ["--static"] if request.param == "static" else []
    _, document = run_json("--no-cache", *mode, "blocks.py", cwd=folder)
    return request.param, path, document


def test_n01_queries_and_keys_saturate_the_softmax(checked):
    _, path, document = checked
    query, key = findings_for(document, "IL205", "ExplicitN01")
    assert (query["layers"], key["layers"]) == (["q"], ["k"]) and query["line"] == line_of(path, "# query")
    for finding in (query, key):
        assert "start with std 64" in finding["message"]  # (1 x sqrt 64) x (1 x sqrt 64)
        assert finding["expected_std"] == pytest.approx(1 / 8) and finding["severity"] == "warning"


def test_a_packed_projection_split_into_q_and_k_is_its_own_partner(checked):
    _, path, document = checked
    [finding] = findings_for(document, "IL205", "PackedGPT")
    assert finding["layers"] == ["c_attn"] and finding["line"] == line_of(path, "# packed")
    assert "start with std 32" in finding["message"]  # (0.5 x sqrt 128)^2


def test_rotary_tables_and_qk_norms(checked):
    _, _, document = checked
    assert findings_for(document, "IL205", "RotaryGPT2Init") == []
    assert findings_for(document, "IL205", "QKNorm") == []


def test_multihead_attention_packed_in_proj(checked):
    _, path, document = checked
    [finding] = findings_for(document, "IL205", "TorchMHA")  # both modes describe the packed projection
    assert finding["layers"] == ["attn"] and finding["line"] == line_of(path, "# mha")
