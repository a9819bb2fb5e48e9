"""Numbers to Chinese words: cardinals (万/亿 grouping, 两 where speakers say it), decimals,
digit strings, years, fractions, percentages."""

from __future__ import annotations

DIGITS = "零一二三四五六七八九"
_GROUP_UNITS = ("", "万", "亿", "万亿")
# Classifiers and scale words after which a bare 2 is read 两 (两个, 两天, 两万), not 二.
LIANG_NEXT = (
    "个 只 本 次 天 年 岁 位 张 件 条 种 份 块 辆 台 部 家 所 篇 首 杯 瓶 碗 斤 公斤 千克 克 吨 米 公里 "
    "小时 分钟 秒钟 周 星期 倍 双 对 场 遍 趟 口 头 匹 棵 朵 片 支 枝 把 根 座 间 套 项 门 节 届 名 人 样 "
    "盒 包 袋 粒 颗 句 段 封 架 艘 元 毛 角 分 点 万 亿 千 百 美元 英镑 欧元 下 声 步 笔 回 集 期 季 "
    "章 幅 滴 堆 群 批 排 行 列 组 份儿 辈子 成"
).split()


def digits(s: str, one: str = "一") -> str:
    """Read each digit: ``"2025" -> 二零二五``. ``one`` may be 幺 for phone-style reading."""
    return "".join(one if c == "1" else DIGITS[int(c)] for c in s if c.isdigit())


def _group(g: int, liang: bool) -> str:
    """A 1..9999 group: 千/百/十 places, 零 for inner gaps, 两 before 千/百 when ``liang``."""
    out, gap, started = [], False, False
    for i, d in enumerate(f"{g:04d}"):
        unit = "千百十"[i] if i < 3 else ""
        if d == "0":
            gap = gap or started
            continue
        if gap:
            out.append("零")
            gap = False
        word = "两" if d == "2" and liang and unit in ("千", "百") else DIGITS[int(d)]
        out.append(word + unit)
        started = True
    return "".join(out)


def cardinal(n: int, liang: bool = True) -> str:
    """Integer in words: ``1234 -> 一千两百三十四``, ``100010 -> 十万零一十``, ``20000 -> 两万``."""
    if n < 0:
        return "负" + cardinal(-n, liang)
    if n == 0:
        return "零"
    groups = []
    while n:
        groups.append(n % 10000)
        n //= 10000
    if len(groups) > len(_GROUP_UNITS):
        return digits(str(sum(g * 10000**i for i, g in enumerate(groups))))
    out, need_zero = "", False
    for idx in range(len(groups) - 1, -1, -1):
        g = groups[idx]
        if g == 0:
            need_zero = bool(out)
            continue
        if out and (need_zero or g < 1000):
            out += "零"
        need_zero = False
        word = "两" if liang and g == 2 and idx > 0 and not out else _group(g, liang)
        out += word + _GROUP_UNITS[idx]
    return out[1:] if out.startswith("一十") else out


def decimal(s: str, liang: bool = True) -> str:
    """A decimal string: ``"3.14" -> 三点一四``, ``"-0.5" -> 负零点五``, ``"1,234.5"`` accepted."""
    s = s.replace(",", "")
    sign = "负" if s.startswith("-") else ""
    s = s.lstrip("+-")
    whole, _, frac = s.partition(".")
    word = cardinal(int(whole or "0"), liang)
    return sign + word + ("点" + digits(frac) if frac else "")


def year(s: str) -> str:
    """Years are read digit by digit: ``2025 -> 二零二五``."""
    return digits(s)


def fraction(num: str, den: str) -> str:
    """``3/4 -> 四分之三``."""
    return decimal(den, liang=False) + "分之" + decimal(num, liang=False)


def percent(s: str, per_mille: bool = False) -> str:
    """``-23.5 -> 负百分之二十三点五``."""
    sign = "负" if s.startswith("-") else ""
    return sign + ("千分之" if per_mille else "百分之") + decimal(s.lstrip("+-"), liang=False)
