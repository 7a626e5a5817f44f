"""Writes chars.txt: the characters finepay's bill font keeps when subset from Noto Sans CJK SC.

GB2312's 7,445 graphic characters (every hanzi of level 1 and 2, kana, Greek, Cyrillic, box and
full-width forms), printable ASCII, and the punctuation the bill and its places use beside them.
"""
chars = set(chr(c) for c in range(0x20, 0x7F))
for hi in range(0xA1, 0xF8):
    for lo in range(0xA1, 0xFF):
        try:
            chars.update(bytes([hi, lo]).decode("gb2312"))
        except UnicodeDecodeError:
            pass
chars.update("￥·—…“”‘’、。，：；！？（）【】《》℃№×□")
with open("chars.txt", "w", encoding="utf-8") as out:
    out.write("".join(sorted(chars)))
    out.write("\n")
