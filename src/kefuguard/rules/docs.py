"""Generate the rules reference (docs/rules.md) from the packs, so docs and rules cannot drift."""

from __future__ import annotations

import json

from kefuguard.rules.model import CATEGORY_ZH, PLATFORM_NAMES_ZH, SEVERITY_ZH, Penalty, RulePack


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _penalty(p: Penalty) -> str:
    extras = []
    if p.points is not None:
        extras.append(f"扣{p.points:g}分")
    if p.fine_yuan is not None:
        extras.append(f"罚款{p.fine_yuan:g}元")
    if p.buyer_compensation_yuan is not None:
        extras.append(f"赔付买家{p.buyer_compensation_yuan:g}元")
    if p.deposit_yuan is not None:
        extras.append(f"保证金{p.deposit_yuan:g}元")
    if p.listing_ban_days:
        extras.append("下架" + "/".join(str(d) for d in p.listing_ban_days) + "天")
    basis = {"platform": "平台", "law": "法律", "shop_policy": "店铺规定"}[p.basis]
    return f"{p.text}（{basis}{'；' + '，'.join(extras) if extras else ''}）"


def render_markdown(packs: list[RulePack]) -> str:
    lines = [
        "# kefuguard 规则参考 / Rules reference",
        "",
        "本文件由 `kefuguard rules export --format md` 生成（`make docs`），请勿手工编辑；CI 会检查它与规则包一致。",
        "Generated from the rule packs; do not edit by hand.",
        "",
    ]
    total = sum(len(p.rules) for p in packs)
    lines.append(f"规则包 {len(packs)} 个，规则 {total} 条。")
    lines.append("")
    for pack in packs:
        info = pack.pack
        plats = "全部平台" if "all" in info.platforms else "、".join(PLATFORM_NAMES_ZH[p] for p in info.platforms)
        lines += [f"## {info.title} (`{pack.label}`)", "", f"适用：{plats}；生效日期 {info.effective_date}。", ""]
        if info.description:
            lines += [info.description.strip(), ""]
        lines.append("| 规则 | 平台 | 类别 | 严重度 | 处罚 | 出处 | 建议话术 |")
        lines.append("|---|---|---|---|---|---|---|")
        for rule in pack.rules:
            rp = pack.platforms_of(rule)
            rplats = "全部" if len(rp) == 6 else ",".join(rp)
            lines.append(
                "| "
                + " | ".join(
                    _cell(x)
                    for x in (
                        f"`{rule.id}` {rule.title}",
                        rplats,
                        CATEGORY_ZH[rule.category.value],
                        SEVERITY_ZH[rule.severity.value],
                        _penalty(rule.penalty),
                        f"{rule.source.file}：「{rule.source.quote}」",
                        rule.suggestion,
                    )
                )
                + " |"
            )
        if pack.overrides:
            lines += ["", f"**{info.title} 对其他规则的平台调整**", "", "| 规则 | 严重度 | 处罚 | 出处 |", "|---|---|---|---|"]
            for ov in pack.overrides:
                lines.append(
                    "| "
                    + " | ".join(
                        _cell(x)
                        for x in (
                            f"`{ov.rule}`",
                            SEVERITY_ZH[ov.severity.value] if ov.severity else "—",
                            _penalty(ov.penalty) if ov.penalty else "—",
                            f"{ov.source.file}：「{ov.source.quote}」" if ov.source else "—",
                        )
                    )
                    + " |"
                )
        lines.append("")
    return "\n".join(lines)


def render_json(packs: list[RulePack]) -> str:
    return json.dumps([p.model_dump(mode="json") for p in packs], ensure_ascii=False, indent=2) + "\n"
