#!/usr/bin/env python3
"""Writes tests/fixtures/gpt2_tiny_finetune.safetensors: what PyTorch minGPT does when it fine-tunes
the tiny Hugging Face GPT-2 in tests/fixtures/gpt2_tiny/, for tests/test_gpt2.c to match.

The weights come in as minGPT's GPT.from_pretrained brings GPT-2's: every tensor by its minGPT name,
the four Conv1D weights transposed into nn.Linear's (out, in), and lm_head.weight a copy of wte
(GPT-2 ties them; minGPT's GPT has its own lm_head, so fine-tuning unties them). Then two training
steps as minGPT's Trainer takes them: forward with targets (-1 carries no loss), backward,
clip_grad_norm_(1.0) (active in both steps), torch.optim.AdamW with minGPT's groups (decay on Linear
weights only) and betas (0.9, 0.95). The model is make_fixture.py's restatement of minGPT's model.py,
dropout 0. The file holds the batch, the loss of each step, and every weight after the two steps.

Only needed to regenerate the fixture (Debian: apt-get install python3-torch), after
make_gpt2_fixture.py:
    /usr/bin/python3 tests/reference/make_finetune_fixture.py
"""
import importlib.util
import json
import os
import struct

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")
CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
B, T = 2, 12
LR, WEIGHT_DECAY, BETAS, GRAD_CLIP = 3e-3, 0.1, (0.9, 0.95), 1.0


def load_module(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    data = raw[8 + n:]
    out = {}
    for name, v in header.items():
        if v["dtype"] != "F32":
            continue  # the attention-mask buffers of other dtypes
        b, e = v["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[b:e], dtype=np.float32).reshape(v["shape"]).copy())
    return out


def main():
    mf = load_module("make_fixture")
    folder = os.path.join(FIXTURES, "gpt2_tiny")
    cfg = json.load(open(os.path.join(folder, "config.json")))
    hf = read_safetensors(os.path.join(folder, "model.safetensors"))
    model = mf.GPT(cfg["n_layer"], cfg["n_head"], cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"])
    sd = model.state_dict()
    copied = 0
    with torch.no_grad():
        for name in sd:
            if name.endswith(".attn.bias"):
                continue  # minGPT's own causal-mask buffer
            if name == "lm_head.weight":
                sd[name].copy_(hf["wte.weight"])
                continue
            w = hf[name[len("transformer."):]]
            sd[name].copy_(w.t() if name.endswith(CONV1D) else w)
            copied += 1
    assert copied == len(dict(model.named_parameters())) - 1, "every parameter but lm_head comes from the file"
    torch.manual_seed(7)
    idx = torch.randint(0, cfg["vocab_size"], (B, T))
    targets = torch.randint(0, cfg["vocab_size"], (B, T))
    targets[0, 3] = -1
    tensors = {"fixture.idx": idx.float(), "fixture.targets": targets.float()}
    opt = model.configure_optimizers(LR, WEIGHT_DECAY, BETAS)
    model.train()
    losses, norms = [], []
    for step in range(2):
        model.zero_grad(set_to_none=True)
        _, loss = model(idx, targets)
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)))
        opt.step()
        losses.append(float(loss))
    assert all(n > GRAD_CLIP for n in norms), "clipping must be active in every step: %s" % norms
    for name, p in model.named_parameters():
        tensors["step2." + name] = p.detach().clone()
    metadata = {"torch_version": torch.__version__, "batch": str(B), "seq_len": str(T), "lr": repr(LR),
                "weight_decay": repr(WEIGHT_DECAY), "beta1": repr(BETAS[0]), "beta2": repr(BETAS[1]),
                "grad_clip": repr(GRAD_CLIP), "losses": " ".join("%.9g" % x for x in losses),
                "grad_norms": " ".join("%.9g" % n for n in norms)}
    out = os.path.join(FIXTURES, "gpt2_tiny_finetune.safetensors")
    mf.write_safetensors(out, tensors, metadata)
    print("wrote %s: losses %s, grad norms %s" % (os.path.normpath(out), losses, norms))


if __name__ == "__main__":
    main()
