#!/usr/bin/env python3
"""Writes the PyTorch fixtures under tests/fixtures/: an independent reference for mingpt.

The model below is minGPT's GPT (model.py) with the same module structure and parameter names,
trained by torch autograd and torch.optim.AdamW with minGPT's parameter groups. The fixture holds
a tiny model's weights, one batch, the logits, the loss, every gradient, and the weights after three
AdamW steps with gradient clipping active (reference.safetensors, checked by tests/test_reference.c);
and a character model saved from PyTorch with a text and its loss (torch_chars.*, checked by
tests/test_tasks.c).

Only needed to regenerate the fixture (Debian: apt-get install python3-torch):
    /usr/bin/python3 tests/reference/make_fixture.py
The build and `make test` never run Python.
"""
import json
import math
import os
import struct

import torch
import torch.nn as nn
from torch.nn import functional as F


class NewGELU(nn.Module):
    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, block_size, attn_pdrop, resid_pdrop):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.attn_dropout = nn.Dropout(attn_pdrop)
        self.resid_dropout = nn.Dropout(resid_pdrop)
        self.register_buffer("bias", torch.tril(torch.ones(block_size, block_size)).view(1, 1, block_size, block_size))
        self.n_head = n_head
        self.n_embd = n_embd

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        att = self.attn_dropout(att)
        y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class Block(nn.Module):
    def __init__(self, n_embd, n_head, block_size, pdrop):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, block_size, pdrop, pdrop)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = nn.ModuleDict(dict(
            c_fc=nn.Linear(n_embd, 4 * n_embd),
            c_proj=nn.Linear(4 * n_embd, n_embd),
            act=NewGELU(),
            dropout=nn.Dropout(pdrop),
        ))
        m = self.mlp
        self.mlpf = lambda x: m.dropout(m.c_proj(m.act(m.c_fc(x))))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlpf(self.ln_2(x))
        return x


class GPT(nn.Module):
    def __init__(self, n_layer, n_head, n_embd, vocab_size, block_size, pdrop=0.0):
        super().__init__()
        self.block_size = block_size
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab_size, n_embd),
            wpe=nn.Embedding(block_size, n_embd),
            drop=nn.Dropout(pdrop),
            h=nn.ModuleList([Block(n_embd, n_head, block_size, pdrop) for _ in range(n_layer)]),
            ln_f=nn.LayerNorm(n_embd),
        ))
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)

    def forward(self, idx, targets=None):
        b, t = idx.size()
        pos = torch.arange(0, t, dtype=torch.long).unsqueeze(0)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return logits, loss

    def configure_optimizers(self, learning_rate, weight_decay, betas):
        """minGPT's groups: decay Linear weights only."""
        decay, no_decay = set(), set()
        for mn, m in self.named_modules():
            for pn, p in m.named_parameters():
                fpn = "%s.%s" % (mn, pn) if mn else pn
                if pn.endswith("bias"):
                    no_decay.add(fpn)
                elif pn.endswith("weight") and isinstance(m, nn.Linear):
                    decay.add(fpn)
                elif pn.endswith("weight") and isinstance(m, (nn.LayerNorm, nn.Embedding)):
                    no_decay.add(fpn)
        params = dict(self.named_parameters())
        groups = [
            {"params": [params[pn] for pn in sorted(decay)], "weight_decay": weight_decay},
            {"params": [params[pn] for pn in sorted(no_decay)], "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(groups, lr=learning_rate, betas=betas)


def randomize(model):
    """Weights far from minGPT's init (large, with non-zero biases and LayerNorm affine terms) so
    that every term of every gradient matters."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def main():
    torch.manual_seed(1337)
    cfg = dict(n_layer=2, n_head=2, n_embd=16, vocab_size=11, block_size=8)
    B, T = 3, 7  # T < block_size so that wpe rows past T must get no gradient
    lr, weight_decay, betas, grad_clip = 1e-2, 0.1, (0.9, 0.95), 0.5
    model = GPT(**cfg)
    randomize(model)
    idx = torch.randint(0, cfg["vocab_size"], (B, T))
    targets = torch.randint(0, cfg["vocab_size"], (B, T))
    targets[0, 0] = -1
    targets[1, 3] = -1
    targets[2, 6] = -1

    tensors = {}
    for name, p in model.named_parameters():
        tensors[name] = p.detach().clone()
    tensors["fixture.idx"] = idx.float()
    tensors["fixture.targets"] = targets.float()

    model.train()
    logits, loss = model(idx, targets)
    loss.backward()
    tensors["fixture.logits"] = logits.detach().clone()
    tensors["fixture.loss"] = loss.detach().reshape(1).clone()
    for name, p in model.named_parameters():
        tensors["grad." + name] = p.grad.detach().clone()

    opt = model.configure_optimizers(lr, weight_decay, betas)
    norms = []
    for step in range(3):
        model.zero_grad(set_to_none=True)
        _, loss = model(idx, targets)
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)))
        opt.step()
    assert all(n > grad_clip for n in norms), "clipping must be active in every step: %s" % norms
    for name, p in model.named_parameters():
        tensors["step3." + name] = p.detach().clone()

    metadata = {"format": "mingpt", "format_version": "1", "task": "reference",
                "n_layer": str(cfg["n_layer"]), "n_head": str(cfg["n_head"]), "n_embd": str(cfg["n_embd"]),
                "vocab_size": str(cfg["vocab_size"]), "block_size": str(cfg["block_size"]),
                "embd_pdrop": "0", "resid_pdrop": "0", "attn_pdrop": "0",
                "batch": str(B), "seq_len": str(T),
                "lr": repr(lr), "weight_decay": repr(weight_decay), "beta1": repr(betas[0]),
                "beta2": repr(betas[1]), "grad_clip": repr(grad_clip),
                "grad_norms": " ".join("%.9g" % n for n in norms),
                "torch_version": torch.__version__}
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "reference.safetensors")
    write_safetensors(out, tensors, metadata)
    print("wrote %s: loss %.6f, grad norms %s" % (os.path.normpath(out), tensors["fixture.loss"].item(), norms))
    chars_fixture(os.path.dirname(out))


def chars_fixture(fixtures):
    """A character model written from PyTorch the way the README shows, a text, and the loss that
    `mingpt eval` must report for it (windows of block_size+1 starting every block_size)."""
    torch.manual_seed(4242)
    vocab = ["\n", " ", "!", ",", ".", "a", "b", "c", "d", "e", "\u00e9"]
    cfg = dict(n_layer=2, n_head=2, n_embd=16, vocab_size=len(vocab), block_size=8)
    model = GPT(**cfg)
    randomize(model)
    tokens = torch.randint(0, len(vocab), (61,))
    text = "".join(vocab[i] for i in tokens.tolist())
    T = cfg["block_size"]
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(tokens) - 1, T):
            x = tokens[start:start + T]
            y = tokens[start + 1:start + T + 1]
            x = x[:len(y)]
            logits, _ = model(x[None])
            total += F.cross_entropy(logits[0], y, reduction="sum").item()
            count += len(y)
    state = {k: v for k, v in model.state_dict().items() if not k.endswith(".attn.bias")}
    metadata = {"format": "mingpt", "format_version": "1", "task": "chars", "encoding": "utf-8",
                "vocab": "".join(vocab), "step": "0",
                "n_layer": str(cfg["n_layer"]), "n_head": str(cfg["n_head"]), "n_embd": str(cfg["n_embd"]),
                "vocab_size": str(cfg["vocab_size"]), "block_size": str(cfg["block_size"]),
                "expected_eval_loss": repr(total / count), "expected_eval_count": str(count)}
    write_safetensors(os.path.join(fixtures, "torch_chars.safetensors"), state, metadata)
    with open(os.path.join(fixtures, "torch_chars.txt"), "w", encoding="utf-8") as f:
        f.write(text)
    print("wrote torch_chars.safetensors and torch_chars.txt: eval loss %.6f over %d characters" % (total / count, count))


if __name__ == "__main__":
    main()
