#!/bin/sh
# Remakes NotoSansSC-finepay.otf, the font the bill is drawn with, from Debian's fonts-noto-cjk
# (Noto Sans CJK SC Regular is face 2 of the collection): the characters in chars.txt, no layout
# features (the bill sets text one glyph per character), no hinting (glyphs are drawn at one size
# and thresholded). Needs python3 and fonttools 4.69.1 (pip install fonttools==4.69.1).
set -eu
cd "$(dirname "$0")"
python3 make-chars.py
pyftsubset "${NOTO_CJK:-/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc}" --font-number=2 \
    --text-file=chars.txt --layout-features='' --no-hinting --notdef-outline --name-IDs='*' \
    --output-file=NotoSansSC-finepay.otf
