#!/bin/sh
# Remakes the fuzzers' seed corpora in tests/fuzz/seeds (committed; run from the repository root
# after `make`). The checkpoints are the smallest mingpt can write (n_embd 4), one per kind the
# reader knows: characters with optimizer state, raw bytes, the adder, and weights only (as PyTorch
# would write them); the texts cover ASCII, multi-byte UTF-8, --bytes mode and broken sequences.
# A GPT-2 folder's config.json: the test fixture's, and one with only the keys mingpt reads. The
# BPE files: a vocabulary of the 256 byte tokens and a few merges, then a 0 byte, then the merges
# (fuzz_bpe splits its input there), in OpenAI's spelling (\u escapes) and in Hugging Face's.
set -eu
S=tests/fuzz/seeds
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p $S/checkpoint $S/utf8 $S/hf_config $S/bpe
small="--n-layer 1 --n-head 1 --n-embd 4 --batch-size 2"
printf 'abcabcabdabcabcabdaabbccdd\nabcd abcd\n' >"$T/t.txt"
./mingpt train "$T/t.txt" $small --block-size 4 --max-iters 2 --eval-every 2 --val-frac 0.2 \
    --out $S/checkpoint/chars.safetensors 2>/dev/null
printf 'ab\000\377\001ab\000\377\001ab\000\377' >"$T/b.bin"
./mingpt train "$T/b.bin" --bytes $small --n-head 2 --block-size 3 --max-iters 1 --eval-every 1 --val-frac 0 \
    --out $S/checkpoint/bytes.safetensors 2>/dev/null
./mingpt add --ndigit 1 $small --batch-size 8 --max-iters 100 --eval-every 100 --out $S/checkpoint/add.safetensors >/dev/null 2>&1
# weights only: the chars checkpoint without optimizer tensors and resume metadata
python3 - $S/checkpoint/chars.safetensors $S/checkpoint/weights_only.safetensors <<'PY'
import json, struct, sys
raw = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
head, data = json.loads(raw[8:8 + n]), raw[8 + n:]
meta = {k: v for k, v in head.pop('__metadata__').items() if k not in ('step', 'data_rng', 'dropout_seed', 'dropout_pass')}
out, blob = {'__metadata__': meta}, b''
for name, t in head.items():
    if name.startswith('optimizer.'):
        continue
    b, e = t['data_offsets']
    out[name] = dict(t, data_offsets=[len(blob), len(blob) + e - b])
    blob += data[b:e]
h = json.dumps(out, separators=(',', ':')).encode()
h += b' ' * (-len(h) % 8)
open(sys.argv[2], 'wb').write(struct.pack('<Q', len(h)) + h + blob)
PY
printf 'hello world\n' >$S/utf8/ascii.txt
printf 'caf\303\251 na\303\257ve \344\270\255\346\226\207 \360\237\230\200\n' >$S/utf8/multibyte.txt
printf '\377bytes mode: \000\001\200\376\377' >$S/utf8/bytes_mode.bin
printf 'ok \300\257 \355\240\200 \364\220\200\200 \342\202' >$S/utf8/invalid.txt
cp tests/fixtures/gpt2_tiny/config.json $S/hf_config/fixture.json
printf '{"model_type": "gpt2", "n_layer": 1, "n_head": 1, "n_embd": 4, "n_positions": 8, "vocab_size": 260,\n' >$S/hf_config/minimal.json
printf ' "n_inner": null, "architectures": ["GPT2LMHeadModel"], "layer_norm_epsilon": 1e-05}\n' >>$S/hf_config/minimal.json
python3 - $S/bpe <<'PY'
import json, sys
bs = list(range(ord('!'), ord('~') + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
cs, n = bs[:], 0
for b in range(256):
    if b not in bs:
        bs.append(b)
        cs.append(256 + n)
        n += 1
spell = dict(zip(bs, map(chr, cs)))  # OpenAI's bytes_to_unicode
def tok(s): return ''.join(spell[b] for b in s.encode())
merges = [('t', 'h'), ('th', 'e'), (' ', 'the'), ('e', 'r'), ('i', 'n'), ('o', 'u')]
vocab = {spell[b]: b for b in range(256)}
for a, b in merges:
    vocab[tok(a + b)] = len(vocab)
lines = ''.join('%s %s\n' % (tok(a), tok(b)) for a, b in merges)
with open(sys.argv[1] + '/openai.bin', 'wb') as f:  # encoder.json and vocab.bpe as OpenAI writes them
    f.write(json.dumps(vocab).encode() + b'\0' + ('#version: 0.2\n' + lines).encode())
with open(sys.argv[1] + '/hf.bin', 'wb') as f:  # vocab.json and merges.txt: raw UTF-8, CRLF line ends
    f.write(json.dumps(vocab, ensure_ascii=False).encode() + b'\0' + lines.replace('\n', '\r\n').encode())
PY
