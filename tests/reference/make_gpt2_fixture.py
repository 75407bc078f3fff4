#!/usr/bin/env python3
"""Writes tests/fixtures/gpt2_tiny/ and tests/fixtures/gpt2_tiny_prefixed/: two tiny random GPT-2
folders in Hugging Face's layout with what PyTorch computes for them, for tests/test_gpt2.c.

The model below is Hugging Face's GPT-2 (transformers' GPT2LMHeadModel, as of 4.26) written out in
torch here, not imported and not mingpt's math: Conv1D modules whose weight is stored (in, out) and
applied as x @ W + b (torch.addmm), the causal mask read from each block's attn.bias buffer
[1,1,n_positions,n_positions] and applied with torch.where and finfo.min, scores divided by
sqrt(head_dim), gelu_new, LayerNorm eps 1e-5, lm_head tied to wte unless the config unties them.
Each folder holds
    config.json           as save_pretrained writes it (OpenAI's keys for gpt2_tiny)
    model.safetensors     F32 weights (attn.bias masks F32 or U8), written by a small writer below
    expected.safetensors  idx (B,T) and the logits (B,T,V) PyTorch gives for them; a prompt and
                          minGPT's generate(do_sample=False) continuation of it, long enough to
                          crop the context to the last n_positions tokens many times (token ids
                          are stored as F32, exact below 2^24)
gpt2_tiny is OpenAI's layout on the Hub: bare names, the attn.bias masks as F32, no lm_head.weight
(tied). gpt2_tiny_prefixed is a save of an untied GPT2LMHeadModel: "transformer." names, U8 masks,
the scalar attn.masked_bias, and an lm_head.weight of its own that differs from wte.

Only needed to regenerate the fixtures (Debian: apt-get install python3-torch):
    /usr/bin/python3 tests/reference/make_gpt2_fixture.py
The build and `make test` never run Python.
"""
import json
import math
import os
import struct

import torch
import torch.nn as nn
from torch.nn import functional as F

CONFIG = dict(n_layer=2, n_head=2, n_embd=16, n_positions=12, vocab_size=75)
BATCH = 2              # rows of the logits batch, each n_positions long
PROMPT_LEN, NEW_TOKENS = 5, 24   # 5 + 24 tokens: the context passes n_positions (12) at the 8th
MIN_MARGIN = 1e-3      # every greedy step's best logit beats the runner-up by this much
MIN_DISTINCT = 8       # distinct tokens in a continuation: a tied model easily repeats one token
                       # forever, which would not show whether the context is cropped right


class Conv1D(nn.Module):
    """transformers.pytorch_utils.Conv1D: a Linear whose weight is stored transposed, (in, out)."""

    def __init__(self, nf, nx):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        size_out = x.size()[:-1] + (self.nf,)
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return x.view(size_out)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class GPT2Attention(nn.Module):
    def __init__(self, cfg, mask_dtype):
        super().__init__()
        P, C = cfg["n_positions"], cfg["n_embd"]
        self.register_buffer("bias", torch.tril(torch.ones((P, P), dtype=mask_dtype)).view(1, 1, P, P))
        self.register_buffer("masked_bias", torch.tensor(-1e4))
        self.n_head, self.head_dim, self.embed_dim = cfg["n_head"], C // cfg["n_head"], C
        self.c_attn = Conv1D(3 * C, C)
        self.c_proj = Conv1D(C, C)

    def _split_heads(self, x):
        x = x.view(x.size()[:-1] + (self.n_head, self.head_dim))
        return x.permute(0, 2, 1, 3)  # (B, head, T, head_dim)

    def _merge_heads(self, x):
        x = x.permute(0, 2, 1, 3).contiguous()
        return x.view(x.size()[:-2] + (self.n_head * self.head_dim,))

    def forward(self, x):
        query, key, value = self.c_attn(x).split(self.embed_dim, dim=2)
        query, key, value = self._split_heads(query), self._split_heads(key), self._split_heads(value)
        w = torch.matmul(query, key.transpose(-1, -2))
        w = w / torch.full([], value.size(-1) ** 0.5, dtype=w.dtype)
        q_len, k_len = query.size(-2), key.size(-2)
        causal_mask = self.bias[:, :, k_len - q_len:k_len, :k_len].bool()
        w = torch.where(causal_mask, w, torch.full([], torch.finfo(w.dtype).min, dtype=w.dtype))
        w = F.softmax(w, dim=-1)
        return self.c_proj(self._merge_heads(torch.matmul(w, value)))


class GPT2MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C = cfg["n_embd"]
        self.c_fc = Conv1D(4 * C, C)
        self.c_proj = Conv1D(C, 4 * C)

    def forward(self, x):
        return self.c_proj(gelu_new(self.c_fc(x)))


class GPT2Block(nn.Module):
    def __init__(self, cfg, mask_dtype):
        super().__init__()
        C = cfg["n_embd"]
        self.ln_1 = nn.LayerNorm(C, eps=1e-5)
        self.attn = GPT2Attention(cfg, mask_dtype)
        self.ln_2 = nn.LayerNorm(C, eps=1e-5)
        self.mlp = GPT2MLP(cfg)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2Model(nn.Module):
    def __init__(self, cfg, mask_dtype):
        super().__init__()
        self.wte = nn.Embedding(cfg["vocab_size"], cfg["n_embd"])
        self.wpe = nn.Embedding(cfg["n_positions"], cfg["n_embd"])
        self.h = nn.ModuleList([GPT2Block(cfg, mask_dtype) for _ in range(cfg["n_layer"])])
        self.ln_f = nn.LayerNorm(cfg["n_embd"], eps=1e-5)

    def forward(self, idx):
        pos = torch.arange(0, idx.size(-1), dtype=torch.long).unsqueeze(0)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        return self.ln_f(x)


class GPT2LMHeadModel(nn.Module):
    def __init__(self, cfg, tied, mask_dtype):
        super().__init__()
        self.transformer = GPT2Model(cfg, mask_dtype)
        self.lm_head = nn.Linear(cfg["n_embd"], cfg["vocab_size"], bias=False)
        self.tied = tied
        if tied:
            self.lm_head.weight = self.transformer.wte.weight

    def forward(self, idx):
        return self.lm_head(self.transformer(idx))


def randomize(model):
    """Every parameter random and large (std 0.3; LayerNorm gains 1 ± 0.2), biases too, so that a
    swapped, untransposed or untied tensor changes the logits, and the logits are far from uniform."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
        if not model.tied:
            model.lm_head.weight.copy_(0.3 * torch.randn_like(model.lm_head.weight))


def greedy(model, prompt, n_new, block_size):
    """minGPT's GPT.generate(idx, n_new, do_sample=False): the context cropped to the last block_size
    tokens, softmax of the last logits, torch.topk(k=1). Also the smallest gap between the best and
    the second-best logit over the steps (a tie would make the token order-of-summation dependent)."""
    idx, margin = prompt.clone(), math.inf
    for _ in range(n_new):
        idx_cond = idx if idx.size(1) <= block_size else idx[:, -block_size:]
        logits = model(idx_cond)[:, -1, :]
        top2 = torch.topk(logits, 2, dim=-1).values
        margin = min(margin, float(top2[0, 0] - top2[0, 1]))
        probs = F.softmax(logits, dim=-1)
        _, idx_next = torch.topk(probs, k=1, dim=-1)
        idx = torch.cat((idx, idx_next), dim=1)
    return idx[0, prompt.size(1):], margin


DTYPES = {torch.float32: "F32", torch.uint8: "U8", torch.bool: "BOOL"}


def write_safetensors(path, tensors, metadata=None):
    """The safetensors layout: an 8-byte little-endian header size, the JSON header (padded with
    spaces to 8 bytes), the tensors' little-endian bytes back to back in the header's order."""
    header = {"__metadata__": metadata} if metadata else {}
    blobs, offset = [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        data = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def hf_config(cfg, tied):
    """config.json: OpenAI's gpt2 keys, plus those save_pretrained adds for an untied model."""
    c = {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
         "bos_token_id": cfg["vocab_size"] - 1, "embd_pdrop": 0.1, "eos_token_id": cfg["vocab_size"] - 1,
         "initializer_range": 0.02, "layer_norm_epsilon": 1e-05, "model_type": "gpt2",
         "n_ctx": cfg["n_positions"], "n_embd": cfg["n_embd"], "n_head": cfg["n_head"],
         "n_layer": cfg["n_layer"], "n_positions": cfg["n_positions"], "resid_pdrop": 0.1,
         "summary_activation": None, "summary_first_dropout": 0.1, "summary_proj_to_labels": True,
         "summary_type": "cls_index", "summary_use_proj": True,
         "task_specific_params": {"text-generation": {"do_sample": True, "max_length": 50}},
         "vocab_size": cfg["vocab_size"]}
    if not tied:
        c.update({"n_inner": None, "reorder_and_upcast_attn": False, "scale_attn_by_inverse_layer_idx": False,
                  "scale_attn_weights": True, "tie_word_embeddings": False, "torch_dtype": "float32",
                  "transformers_version": "4.26.1", "use_cache": True})
    return json.dumps(c, indent=2, sort_keys=True) + "\n"


def state_for_file(model, prefixed):
    """The state_dict as the file holds it: OpenAI's (GPT2Model's: bare names, no masked_bias, no
    lm_head) or GPT2LMHeadModel's untied save (prefixed names, lm_head.weight)."""
    state = {}
    for name, t in model.state_dict().items():
        if name == "lm_head.weight":
            if prefixed:
                state[name] = t
            continue
        if not prefixed and name.endswith("attn.masked_bias"):
            continue
        state[name if prefixed else name[len("transformer."):]] = t
    return state


def write_folder(folder, seed, prefixed):
    torch.manual_seed(seed)
    cfg = CONFIG
    tied = not prefixed
    model = GPT2LMHeadModel(cfg, tied, torch.uint8 if prefixed else torch.float32)
    randomize(model)
    model.eval()
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(hf_config(cfg, tied))
    write_safetensors(os.path.join(folder, "model.safetensors"), state_for_file(model, prefixed))

    V, P = cfg["vocab_size"], cfg["n_positions"]
    idx = torch.randint(0, V, (BATCH, P))
    prompt = torch.randint(0, V, (1, PROMPT_LEN))
    with torch.no_grad():
        logits = model(idx)
        new, margin = greedy(model, prompt, NEW_TOKENS, P)
        exact = GPT2LMHeadModel(cfg, tied, torch.float32).double()
        exact.load_state_dict({k: v.double() if v.is_floating_point() else v for k, v in model.state_dict().items()},
                              strict=False)
        fp64_diff = float((exact(idx) - logits.double()).abs().max())
    assert margin >= MIN_MARGIN, "greedy step too close to a tie (%g); change the seed" % margin
    assert len(set(new.tolist())) >= MIN_DISTINCT, "continuation too repetitive: %s; change the seed" % new.tolist()
    probs = F.softmax(logits, dim=-1)
    scale = float(logits.abs().max())
    metadata = {"torch_version": torch.__version__, "seed": str(seed),
                "logit_max_abs": "%.9g" % scale, "float64_max_diff": "%.3g" % fp64_diff,
                "greedy_min_margin": "%.6g" % margin}
    write_safetensors(os.path.join(folder, "expected.safetensors"),
                      {"idx": idx.float(), "logits": logits, "prompt": prompt[0].float(),
                       "continuation": new.float()}, metadata)
    print("%s: max |logit| %.3f, float32 vs float64 %.2g, mean top probability %.3f, greedy margin >= %.4f, "
          "continuation %s" % (os.path.normpath(folder), scale, fp64_diff, float(probs.max(-1).values.mean()),
                               margin, new.tolist()))


def main():
    fixtures = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
    # seeds chosen for a varied continuation (see MIN_DISTINCT); with others the tied model repeats
    write_folder(os.path.join(fixtures, "gpt2_tiny"), 2038, prefixed=False)
    write_folder(os.path.join(fixtures, "gpt2_tiny_prefixed"), 2025, prefixed=True)


if __name__ == "__main__":
    main()
