#!/bin/sh
# Downloads tiny Shakespeare to data/tinyshakespeare.txt and verifies its SHA-256; does nothing if
# the file is already there and correct.
set -eu
dir=$(dirname "$0")
out="$dir/tinyshakespeare.txt"
url=https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt
want=86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed
if [ -f "$out" ] && [ "$(sha256sum "$out" | cut -d' ' -f1)" = "$want" ]; then
    echo "$out is already there"
    exit 0
fi
if command -v curl >/dev/null 2>&1; then
    fetch() { curl -fsSL "$url" -o "$out.tmp"; }
elif command -v wget >/dev/null 2>&1; then
    fetch() { wget -q "$url" -O "$out.tmp"; }
else
    echo "download.sh: needs curl or wget (or fetch $url into $out by hand)" >&2
    exit 1
fi
if ! fetch; then
    rm -f "$out.tmp"
    echo "download.sh: could not download $url; fetch it into $out by hand, or train on any UTF-8 text" >&2
    exit 1
fi
got=$(sha256sum "$out.tmp" | cut -d' ' -f1)
if [ "$got" != "$want" ]; then
    rm -f "$out.tmp"
    echo "download.sh: checksum mismatch: got $got, expected $want" >&2
    exit 1
fi
mv "$out.tmp" "$out"
echo "wrote $out ($(wc -c < "$out") bytes)"
