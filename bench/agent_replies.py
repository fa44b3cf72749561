"""A seeded generator of shop-agent replies that look like real ones, each with a class label.

Real agent replies are not the short tidy sentences of a toy mix: they carry order numbers in each
platform's own format, tracking numbers, prices, coupons, dates and times, model names and specs,
links to the platform's own domains, English words, emoji and the 亲/哦/呢/~ particles, and many
are long multi-clause explanations (after-sales, size advice, logistics updates). A few percent
break a rule (diversion to WeChat/phone, superlatives, rude tone, invoice refusal, cashback for a
good review), and those rule breaks sit inside otherwise ordinary replies.

The templates and vocabularies below are written for this benchmark; they are independent of the
rule packs and the tests. Usage:

    from agent_replies import generate
    for reply in generate(20000, "jd", seed=7):
        reply.text, reply.cls, reply.variant
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

import opencc

PLATFORMS = ("douyin", "pinduoduo", "tmall", "taobao", "jd", "kuaishou")

# class → share of messages; violation is 6% (the issue: "a few percent" of real shop replies)
CLASS_WEIGHTS: dict[str, float] = {
    "greeting": 0.19,
    "product_qa": 0.17,
    "logistics": 0.15,
    "order": 0.10,
    "after_sales": 0.12,
    "promotion": 0.08,
    "link": 0.05,
    "long_multi_clause": 0.08,
    "violation": 0.06,
}
CLASSES = tuple(CLASS_WEIGHTS)
TRADITIONAL_SHARE = 0.04  # of every class, after generation
FULLWIDTH_SHARE = 0.02

_T2S = opencc.OpenCC("s2t")
_FULLWIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"}


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    cls: str
    variant: str = ""  # "", "traditional" or "fullwidth"


# ----------------------------------------------------------------------------------- vocabularies
def _digits(rng: random.Random, n: int, first: str = "123456789") -> str:
    return rng.choice(first) + "".join(rng.choice("0123456789") for _ in range(n - 1))


def _order(rng: random.Random, platform: str) -> str:
    """An order number in the platform's own format."""
    if platform == "pinduoduo":  # yymmdd-15 digits
        return f"{rng.randint(23, 25)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}-{_digits(rng, 15)}"
    if platform == "jd":  # 12–13 digits, newer ones 19
        return _digits(rng, rng.choice((12, 13, 13, 19)), "23")
    if platform in ("tmall", "taobao"):  # 18–19 digits
        return _digits(rng, rng.choice((18, 19)), "1234")
    if platform == "douyin":  # 19 digits, starting 69/50/48
        return rng.choice(("69", "50", "48")) + _digits(rng, 17, "0123456789")
    return _digits(rng, rng.choice((16, 19)), "2")  # kuaishou


def _track(rng: random.Random, platform: str) -> str:
    kind = rng.randrange(8 if platform == "jd" else 7)
    if kind == 0:
        return "SF" + _digits(rng, 13)
    if kind == 1:
        return "JT" + _digits(rng, 13, "0")
    if kind == 2:
        return "YT" + _digits(rng, 13, "2")
    if kind == 3:
        return "78" + _digits(rng, 12, "0123456789")  # 中通
    if kind == 4:
        return "43" + _digits(rng, 11, "0123456789")  # 韵达
    if kind == 5:
        return "77" + _digits(rng, 13, "0123456789")  # 申通
    if kind == 6:
        return "9" + _digits(rng, 12, "0123456789")  # 邮政/EMS
    return "JDV" + _digits(rng, 12, "0")


CARRIERS = ("顺丰", "极兔", "圆通", "中通", "韵达", "申通", "邮政", "京东快递")
_CARRIER_OF = {"SF": "顺丰", "JT": "极兔", "YT": "圆通", "78": "中通", "43": "韵达", "77": "申通", "9": "邮政", "JD": "京东快递"}


def _parcel(rng: random.Random, platform: str) -> str:
    number = _track(rng, platform)
    carrier = _CARRIER_OF.get(number[:2]) or _CARRIER_OF.get(number[:1], "快递")
    return rng.choice((f"{carrier}{number}", f"{carrier} {number}", f"{carrier}单号：{number}", number))


def _link(rng: random.Random, platform: str) -> str:
    """A link to the platform's own site (allowed), as agents paste them."""
    scheme = rng.choice(("https://", "https://", "http://", ""))
    n = _digits(rng, 12)
    options = {
        "jd": (f"item.jd.com/{n}.html", f"item.m.jd.com/product/{n}.html", f"3.cn/{_code(rng, 6)}-{_code(rng, 2)}"),
        "tmall": (f"detail.tmall.com/item.htm?id={n}", f"m.tb.cn/h.{_code(rng, 7)}", f"detail.tmall.com/item.htm?id={n}&skuId=5{_digits(rng, 12)}"),
        "taobao": (f"item.taobao.com/item.htm?id={n}", f"m.tb.cn/h.{_code(rng, 7)}?tk={_code(rng, 11)}"),
        "pinduoduo": (f"mobile.yangkeduo.com/goods.html?goods_id={n}", f"mobile.yangkeduo.com/goods2.html?goods_id={n}"),
        "douyin": (f"haohuo.jinritemai.com/views/product/detail?id={n}", f"v.douyin.com/{_code(rng, 7)}/"),
        "kuaishou": (f"v.kuaishou.com/{_code(rng, 6)}", f"app.kwai.com/s/{_code(rng, 8)}"),
    }[platform]
    return scheme + rng.choice(options)


def _code(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(n))


def _price(rng: random.Random, _p: str) -> str:
    yuan = rng.choice((rng.randint(9, 99), rng.randint(99, 999), rng.randint(1000, 8999)))
    cents = rng.choice(("", "", ".00", ".90", ".99", ".9"))
    return rng.choice((f"¥{yuan}{cents}", f"{yuan}{cents}元", f"{yuan}元", f"￥{yuan}{cents}", f"{yuan}{cents}"))


def _coupon(rng: random.Random, _p: str) -> str:
    base = rng.choice((99, 149, 199, 299, 399, 599))
    return rng.choice(
        (
            f"满{base}减{rng.choice((10, 20, 30, 50))}",
            f"满{rng.randint(2, 3)}件打{rng.choice((8, 9, 85))}折",
            "第二件半价",
            f"{rng.choice((5, 10, 20))}元无门槛券",
            f"每满{base}减{rng.choice((15, 25, 40))}",
            f"领券立减{rng.choice((3, 5, 8, 15))}元",
        )
    )


def _date(rng: random.Random, _p: str) -> str:
    m, d = rng.randint(1, 12), rng.randint(1, 28)
    h, mi = rng.randint(8, 22), rng.choice((0, 0, 10, 15, 30, 45))
    return rng.choice(
        (
            f"{m}月{d}日",
            f"{m}月{d}号",
            f"2024-{m:02d}-{d:02d} {h}:{mi:02d}",
            f"{m}.{d}",
            f"{m}/{d} {h}:{mi:02d}",
            rng.choice(("明天上午", "今天下午", "后天", "本周五", "下周一", "今晚12点前")),
        )
    )


def _hours(rng: random.Random, _p: str) -> str:
    return rng.choice(("24小时内", "48小时内", "72小时内", "1-3个工作日", "3到5天", "2天内", "7个工作日内"))


def _time(rng: random.Random, _p: str) -> str:
    return rng.choice((f"{rng.randint(9, 22)}:{rng.choice(('00', '30'))}", f"下午{rng.randint(1, 6)}点", f"晚上{rng.randint(7, 11)}点"))


PHONES = ("iPhone 15 Pro Max", "iPhone 14", "小米14 Ultra", "华为Mate60 Pro", "荣耀Magic6", "OPPO Reno11", "vivo X100", "红米K70")
GADGETS = ("RTX4060", "RTX 4070 Ti", "AirPods Pro 2", "Switch OLED", "iPad Air 5", "MacBook Air M2", "Kindle", "GoPro 12")
SPECS = ("256G", "8+256G", "12+512G", "1TB", "500ml", "3.5mm", "Type-C", "蓝牙5.3", "WiFi 6", "65W", "20000mAh", "4K 144Hz", "USB3.0", "NFC")
CLOTHES = ("羽绒服", "卫衣", "牛仔裤", "连衣裙", "冲锋衣", "衬衫", "运动鞋", "打底衫", "睡衣套装", "羊毛大衣")
GOODS = ("电饭煲", "空气炸锅", "保温杯", "面霜", "洗面奶", "猫粮", "手机壳", "数据线", "蓝牙耳机", "行李箱", "乳胶枕", "扫地机器人")
MATERIALS = ("纯棉", "聚酯纤维", "95%棉5%氨纶", "羊毛", "真皮", "304不锈钢", "食品级硅胶", "天丝")
COLORS = ("雾霾蓝", "燕麦色", "黑色", "奶白色", "卡其", "藏青", "灰粉色", "墨绿")
SIZES = ("S", "M", "L", "XL", "XXL", "2XL", "3XL", "165/88A", "170/92A", "175/92A", "180/96A", "38码", "39码", "42码")
EMOJI = ("😊", "🙏", "🌹", "💕", "👍", "😄", "🎉", "❤️", "[微笑]", "[玫瑰]", "[爱心]", "~", "~~", "～")
ENGLISH = ("OK", "ok", "sorry", "size", "logo", "SKU", "VIP", "new", "DIY", "plus", "PLUS会员", "hello")
PARTICLES = ("哦", "呢", "哈", "呀", "哦~", "的呢", "哈~", "哦亲", "呢亲", "~", "")
HELLO = ("亲", "亲亲", "您好", "亲爱的", "亲，您好", "hello亲", "在的亲")

# per platform: what the shop calls its goods, its own platform words
ITEM = {"taobao": ("宝贝", "商品"), "tmall": ("宝贝", "商品"), "jd": ("商品",), "pinduoduo": ("商品", "这款"),
        "douyin": ("商品", "这款"), "kuaishou": ("商品", "这款")}
OWN = {
    "jd": ("京东物流", "京东自营仓", "京东客服", "京东APP", "PLUS会员"),
    "tmall": ("天猫超市", "淘宝APP", "天猫官方", "88VIP"),
    "taobao": ("淘宝APP", "千牛后台", "淘宝官方"),
    "pinduoduo": ("拼多多APP", "多多买菜", "拼单"),
    "douyin": ("抖音商城", "抖店后台", "飞鸽"),
    "kuaishou": ("快手小店", "快手APP"),
}
SERVICE = {
    "jd": ("价保30天", "京尊达", "上门取件", "211限时达"),
    "tmall": ("运费险", "极速退款", "7天无理由"),
    "taobao": ("运费险", "极速退款", "7天无理由"),
    "pinduoduo": ("退货包运费", "极速退款", "假一赔十"),
    "douyin": ("运费险", "极速退", "晚发即赔"),
    "kuaishou": ("退货补运费", "7天无理由"),
}


def _pick(seq: tuple[str, ...]) -> Callable[[random.Random, str], str]:
    return lambda rng, _p: rng.choice(seq)


SLOTS: dict[str, Callable[[random.Random, str], str]] = {
    "order": _order,
    "track": _track,
    "parcel": _parcel,
    "link": _link,
    "price": _price,
    "coupon": _coupon,
    "date": _date,
    "hours": _hours,
    "time": _time,
    "phone_model": _pick(PHONES),
    "gadget": _pick(GADGETS),
    "spec": _pick(SPECS),
    "capacity": _pick(("500ml", "1.5L", "3L", "5L", "20000mAh", "28寸", "750ml")),
    "port": _pick(("Type-C", "Lightning", "3.5mm", "USB-A", "蓝牙5.3")),
    "clothes": _pick(CLOTHES),
    "goods": _pick(GOODS),
    "material": _pick(MATERIALS),
    "color": _pick(COLORS),
    "size": _pick(SIZES),
    "emoji": _pick(EMOJI),
    "en": _pick(ENGLISH),
    "pt": _pick(PARTICLES),
    "hi": _pick(HELLO),
    "carrier": _pick(CARRIERS),
    "item": lambda rng, p: rng.choice(ITEM[p]),
    "own": lambda rng, p: rng.choice(OWN[p]),
    "service": lambda rng, p: rng.choice(SERVICE[p]),
    "height": lambda rng, _p: str(rng.randint(150, 188)),
    "weight": lambda rng, _p: str(rng.randint(85, 200)),
    "n": lambda rng, _p: str(rng.randint(2, 99)),
    "days": lambda rng, _p: str(rng.randint(1, 7)),
    "amount": lambda rng, _p: f"{rng.randint(5, 2999)}.{rng.randint(0, 99):02d}",
}
_SLOT = re.compile(r"\{(\w+)\}")

# ----------------------------------------------------------------------------------- templates
GREETING = (
    "{hi}，在的{pt}",
    "{hi}，请问有什么可以帮您{pt}？",
    "在的{hi}{emoji}",
    "好的{pt}{emoji}",
    "收到{pt}，稍等一下哈",
    "{hi}，欢迎光临小店{emoji}",
    "好滴亲，马上帮您看一下",
    "不客气{pt}，有问题随时找我{emoji}",
    "谢谢亲的支持{emoji}",
    "亲，还在吗？",
    "嗯嗯是的{pt}",
    "OK的亲{emoji}",
    "亲，您说的是哪一款呢？",
    "稍等哦亲，正在为您查询",
    "感谢您的耐心等待{emoji}",
    "亲，晚安哦，祝您生活愉快{emoji}",
    "亲，这边已经给您备注好了{pt}",
    "亲，还有其他需要帮您的吗{emoji}",
)
PRODUCT_QA = (
    "{hi}，这款是{material}的，穿着很舒服{pt}",
    "身高{height}体重{weight}斤的话建议拍{size}{pt}",
    "这款{clothes}尺码标准，平时穿{size}的拍{size}就可以{pt}",
    "{phone_model}支持{spec}，我们这款手机壳是按官方尺寸开孔的{pt}",
    "亲，这款{goods}是{port}接口的，{phone_model}也可以用{pt}",
    "这个{color}是实拍图，不同显示器可能有一点点色差{pt}{emoji}",
    "{gadget}现货的，今天{time}前下单当天发{pt}",
    "亲，这款{goods}的容量是{capacity}，一家三口用刚刚好{pt}",
    "{clothes}是{material}面料，可以机洗，建议反面冷水洗，不要暴晒{pt}",
    "亲，{size}的胸围是{n}0cm左右，衣长{n}cm，详情页有尺码表可以参考{pt}",
    "这两个型号的区别是{spec}和{spec}，其他配置都一样{pt}",
    "亲，这款带{spec}和{spec}，{en}版本是升级款{pt}",
    "{phone_model}用的话选{spec}就够了{pt}，玩游戏多的话可以选大一点的",
    "鞋子偏小半码，平时穿{size}的建议拍大一码{pt}",
    "亲，{color}和{color}都有货的，{size}还剩{n}件{pt}",
    "这款{item}是正品行货，支持官方验证，可以放心{pt}{emoji}",
    "亲，{goods}是{material}内胆，{n}个月内非人为损坏可以免费换新{pt}",
    "这个logo是可以定制的，您拍下后把要印的字发给我就行{pt}",
)
LOGISTICS = (
    "亲，您的包裹已经发出了，{parcel}，预计{hours}送达{pt}",
    "{parcel}，您可以在{own}里查看物流{pt}",
    "亲，物流显示{date}已到达您所在城市的转运中心，今天或明天就能派送{pt}",
    "已经帮您催了{carrier}，{hours}会有更新的{pt}，请耐心等一下{emoji}",
    "亲，我们是{date}发的货，{parcel}，中转比较慢，还请谅解{pt}",
    "亲，下单后{hours}发货，偏远地区会慢一点{pt}",
    "您好，仓库显示{date}已揽收，单号{track}，明天就有物流信息了{pt}",
    "亲，{carrier}那边反馈是派件员{date}给您送，请保持电话畅通{pt}",
    "亲，快递放在了驿站，取件码是{n}-{n}-{n}{n}{n}{pt}",
    "默认发{carrier}，不支持指定快递哈，需要加急的话可以备注{pt}",
    "亲，{date}前下单的都会在{hours}发出{pt}{emoji}",
)
ORDER = (
    "亲，订单号{order}已经为您改好地址了{pt}",
    "您的订单{order}实付{price}，已经合并发货{pt}",
    "订单编号：{order}，请核对一下收货信息是否正确{pt}",
    "亲，查到您的订单了，{order}，{date}下的单，现在在打包中{pt}",
    "亲，订单{order}的差价{price}已经退回到您的原支付账户{pt}",
    "您拍的{n}件已经备注好了，订单号{order}，{hours}发货{pt}",
    "亲，麻烦提供一下订单号，我这边帮您查询{pt}",
    "亲，订单{order}申请的是仅退款，金额{amount}元，已经同意了{pt}",
    "已为您修改规格为{color} {size}，订单号{order}{pt}",
)
AFTER_SALES = (
    "亲，非常抱歉给您带来不好的体验，您这边拍一下{goods}的问题照片发给我，我们核实后会尽快给您处理{pt}",
    "亲，退货地址已经发到售后单里了，寄回的时候请在包裹里附上纸条写上订单号和问题，收到货后{hours}给您退款{pt}",
    "亲，支持{service}的，您在订单页面点申请售后，选择退货退款，寄回运费由运费险承担，不用您出{pt}{emoji}",
    "亲，换货的话您先申请售后选择换货，寄回后我们这边收到就给您发{size}，换回的运费我们承担{pt}",
    "亲，这个情况我们已经反馈给仓库了，{date}前会给您答复，退款{price}会原路退回，{hours}到账{pt}",
    "实在抱歉亲，发错了颜色，您不用寄回了，我们给您补发一件{color}的，单号出来后第一时间发给您{pt}",
    "亲，{goods}收到有破损的话，您拍一下外包装和破损处的照片，我们这边直接给您补发或者退款，您选一种就行{pt}",
    "亲，您申请的退款已经同意了，{amount}元会在{hours}原路退回，请留意一下支付账户的到账通知{pt}{emoji}",
    "亲，电子产品拆封激活后就不支持无理由退货了哈，不过质量问题是可以换新的，您先描述一下具体是什么问题{pt}",
    "亲，{gadget}有{n}个月保修，在保修期内非人为损坏的话，寄回来我们免费维修，来回运费都是我们出{pt}",
    "亲，您寄回的{carrier}单号{track}我们已经签收了，质检完成后就给您退款{pt}",
    "亲，这边帮您申请了{price}的补偿，您看可以吗？如果不满意我们再商量{pt}",
)
PROMOTION = (
    "亲，现在活动价{price}，{coupon}，到手价{price}{pt}",
    "{date}零点开抢，{coupon}，可以先加购{pt}{emoji}",
    "亲，店铺首页可以领{coupon}的券，和{coupon}可以叠加{pt}",
    "到手价{price}，比平时便宜{n}块{pt}",
    "亲，{date}-{date}有{coupon}活动，{en}会员再享9.5折{pt}",
    "亲，买{n}件包邮，{coupon}{pt}{emoji}",
    "这款{item}参加{coupon}，{date}截止{pt}",
    "亲，{own}现在有补贴，{phone_model}到手{price}{pt}",
    "下单送{goods}一个，数量有限送完即止{pt}",
)
LINK = (
    "亲，这个是链接：{link}，您点开就可以下单{pt}",
    "亲，您要的{color}在这个链接里 {link}",
    "{link} 亲，这款是同系列的加厚款{pt}",
    "亲，补差价的链接发您了：{link}，拍{n}件就可以{pt}",
    "亲，这是我们店的{item}链接 {link} ，{coupon}{pt}{emoji}",
    "亲，尺码表在这里看：{link}{pt}",
)
VIOLATION = (  # each is spliced into an otherwise ordinary reply
    "方便的话加下我们售后v：kf{n}{n}{n}，发您电子版说明书",
    "急的话直接打我手机1{n}{n}{n}{n}{n}{n}，备注订单号",
    "有问题拨打 13{days} {n}{n} {n}{n} 找我们售后",
    "微 信 搜 shop{n}{n} 加一下，发您优惠",
    "加Q {n}{n}{n}{n}{n} 联系售后更快",
    "这款是全网最低价了，绝对正品",
    "我们家是行业第一品牌，质量最好",
    "说了多少遍了，自己看详情页",
    "爱买不买，不退就是不退",
    "你是不是没看清楚啊？",
    "我们这边不开发票的哈",
    "发票要另外加6个点的税",
    "确认收货给五星好评截图返3元红包",
    "晒图好评返现5元，找客服领",
    "下次直接转账给我，不走平台能便宜点",
)
APOLOGY = (
    "{hi}，实在不好意思让您久等了",
    "非常抱歉亲，给您添麻烦了{emoji}",
    "亲，理解您的心情，这边一定帮您处理好",
    "sorry亲，是我们的疏忽",
)
CLAUSE_SETS = {
    "greeting": GREETING,
    "product_qa": PRODUCT_QA,
    "logistics": LOGISTICS,
    "order": ORDER,
    "after_sales": AFTER_SALES,
    "promotion": PROMOTION,
    "link": LINK,
}
_JOIN = ("，", "，", "。", "！", "；", " ", "~", "。\n")


def fill(template: str, rng: random.Random, platform: str) -> str:
    return _SLOT.sub(lambda m: SLOTS[m.group(1)](rng, platform), template)


def _clause(rng: random.Random, cls: str, platform: str) -> str:
    return fill(rng.choice(CLAUSE_SETS[cls]), rng, platform)


def _join(rng: random.Random, parts: list[str]) -> str:
    out = parts[0]
    for p in parts[1:]:
        out += ("" if out[-1] in "，。！？~；!?" else rng.choice(_JOIN)) + p
    return out


def _one(rng: random.Random, cls: str, platform: str) -> str:
    if cls == "long_multi_clause":
        # an after-sales explanation, size advice or logistics update told in several clauses
        topics = rng.choice((("after_sales", "logistics"), ("product_qa",), ("logistics", "order"), ("promotion", "product_qa")))
        parts = [fill(rng.choice(("{hi}，", "{hi}，非常抱歉让您久等了，", "{hi}，您好，")), rng, platform)]
        text = ""
        for _ in range(20):
            parts.append(_clause(rng, rng.choice(topics), platform))
            candidate = _join(rng, parts)
            if len(candidate) > 200:
                parts.pop()
                if len(text) >= 120:
                    break
                continue
            text = candidate
            if len(text) >= 120 and rng.random() < 0.5:
                break
        return text.replace("亲，亲，", "亲，", 1)
    if cls == "violation":
        host = rng.choice(("greeting", "product_qa", "logistics", "order", "after_sales", "promotion"))
        parts = [_clause(rng, host, platform) for _ in range(rng.choice((1, 1, 2)))]
        parts.insert(rng.randint(0, len(parts)), fill(rng.choice(VIOLATION), rng, platform))
        return _join(rng, parts)
    if cls == "greeting":
        return _clause(rng, cls, platform)
    # most replies are one or two clauses of their topic, sometimes opened by a greeting
    parts = [_clause(rng, cls, platform)]
    if cls == "after_sales":  # refunds and returns take explaining: often two steps, apology first
        if rng.random() < 0.5:
            parts.append(_clause(rng, cls, platform))
        if rng.random() < 0.3:
            parts.insert(0, fill(rng.choice(APOLOGY), rng, platform))
    elif rng.random() < 0.35:
        parts.append(_clause(rng, cls if rng.random() < 0.6 else "greeting", platform))
    if rng.random() < 0.25:
        parts.insert(0, _clause(rng, "greeting", platform))
    return _join(rng, parts)


def generate(n: int, platform: str, seed: int = 7) -> list[Reply]:
    """`n` replies for `platform`, reproducible from `seed`, classes drawn by CLASS_WEIGHTS."""
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}")
    rng = random.Random(f"{seed}:{platform}")
    classes = rng.choices(CLASSES, weights=list(CLASS_WEIGHTS.values()), k=n)
    out = []
    for cls in classes:
        text = _one(rng, cls, platform)
        r = rng.random()
        if r < TRADITIONAL_SHARE:
            out.append(Reply(_T2S.convert(text), cls, "traditional"))
        elif r < TRADITIONAL_SHARE + FULLWIDTH_SHARE:
            out.append(Reply(text.translate(_FULLWIDTH), cls, "fullwidth"))
        else:
            out.append(Reply(text, cls))
    return out


if __name__ == "__main__":  # print a sample: python bench/agent_replies.py [platform] [n]
    import sys

    plat = sys.argv[1] if len(sys.argv) > 1 else "jd"
    for reply in generate(int(sys.argv[2]) if len(sys.argv) > 2 else 30, plat):
        print(f"[{reply.cls}{'/' + reply.variant if reply.variant else ''}] {reply.text}")
