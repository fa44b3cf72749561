"""Phrase banks for the sample chat generator.

Plain data, kept apart from the generator so the wording can be reviewed (and extended) by people
who know customer service better than code. Placeholders: {p} product, {price} list price,
{shop} shop name, {name} agent nickname, {bot} the shop's bot name, {days} a day count.

Every violation phrase is filed under the rule category (`kefuguard.rules.model.Category` values)
it is meant to break, so tests and benchmarks know what the audit should find.
"""

from __future__ import annotations

# --- buyers -------------------------------------------------------------------------------------

BUYER_OPENERS: tuple[str, ...] = (
    "在吗",
    "你好",
    "有人吗？",
    "客服在吗",
    "亲，在不在",
    "您好，想咨询一下",
    "hello",
    "在？",
    "老板在吗",
    "你好，问一下",
)

BUYER_THANKS: tuple[str, ...] = (
    "好的，谢谢",
    "好的，那我拍了",
    "知道了，谢谢客服",
    "行",
    "ok",
    "好的好的",
    "明白了，谢谢亲",
    "那我再考虑一下",
    "好的👌",
    "嗯嗯，辛苦了",
)

BUYER_NUDGES: tuple[str, ...] = (
    "？？？",
    "人呢",
    "在不在啊",
    "怎么不回消息",
    "还在吗",
)

BUYER_ABUSE: tuple[str, ...] = (
    "你们是骗子吧",
    "什么垃圾客服，问半天不回",
    "你脑子有问题吧，听不懂人话？",
    "垃圾店铺，再不退款我就天天投诉你",
    "你们就是一群骗子，我要去12315投诉",
    "傻X客服，浪费我时间",
    "滚吧，什么破东西",
)

# --- agents: openings, closings, fillers ------------------------------------------------------------

AGENT_GREETINGS: tuple[str, ...] = (
    "亲，您好，欢迎光临{shop}，我是客服{name}，很高兴为您服务~",
    "您好，我是{name}，请问有什么可以帮您？",
    "亲，在的呢，我是{name}，请问有什么可以帮到您的~",
    "您好亲，欢迎光临{shop}，有什么需要尽管问我哦",
)

AGENT_CLOSINGS: tuple[str, ...] = (
    "感谢您的支持，祝您生活愉快，有问题随时联系我哦~",
    "不客气的亲，期待您的再次光临，再见~",
    "亲，还有其他需要帮忙的吗？没有的话就不打扰您啦，祝您购物愉快~",
    "谢谢亲的耐心，有任何问题随时找{name}哦，再见~",
)

AGENT_WAIT: tuple[str, ...] = (
    "亲，请稍等，我帮您查一下哦",
    "好的亲，马上为您核实，请稍等片刻~",
    "收到，我这边帮您看一下",
)

AGENT_NEXT_MORNING: tuple[str, ...] = (
    "亲，早上好，昨晚客服已下班，抱歉让您久等了，您的问题我来帮您处理~",
    "您好亲，看到您昨晚的留言了，不好意思回复晚了",
)

# How a good agent answers an abusive buyer (002_…: calm, respect, ask, offer, act).
AGENT_CALM: tuple[str, ...] = (
    "非常抱歉给您带来不好的体验，您先消消气，我马上为您处理",
    "理解您的心情，这件事是我们没做好，您看我先帮您申请退款可以吗？",
    "亲，真的很抱歉，您的问题我已经记录下来了，一定给您一个满意的答复",
)

AGENT_TRANSFER: tuple[str, ...] = (
    "亲，这个问题我帮您转接售后同事处理，请稍等哦",
    "售后问题我给您转到专门的同事，马上就来~",
)

AGENT_FOLLOWUPS: tuple[str, ...] = (
    "亲，您拍下的{p}还没有付款哦，需要帮您保留库存吗？",
    "亲，您的{p}已经签收啦，使用上有任何问题随时联系我们哦",
    "您好，看到您浏览了{p}，今天下单有店铺优惠券可以用哦",
    "亲，您咨询的{p}已经到货了，需要的话可以下单啦",
)

# Curt replies (under 5 characters): the Tmall/Taobao reception rule counts them as 敷衍.
CURT_REPLIES: tuple[str, ...] = ("嗯", "哦", "有", "不知道", "不清楚", "没有", "可以", "好")

# --- bots and auto-replies ----------------------------------------------------------------------------

BOT_REPLIES: tuple[str, ...] = (
    "【{bot}】您好，我是智能助手{bot}，请问有什么可以帮您？您可以直接描述问题哦",
    "【{bot}】亲，常见问题：发货时间、尺码推荐、退换货政策，点击即可查看~",
    "【{bot}】您的问题已收到，正在为您转接人工客服，请稍候",
)

AUTO_REPLIES: tuple[str, ...] = (
    "您好，欢迎光临{shop}！客服正在快马加鞭赶来，请稍等片刻~",
    "亲，当前咨询人数较多，请您耐心等待，我们会按顺序回复哦",
)

NIGHT_AUTO_REPLIES: tuple[str, ...] = (
    "亲，现在是非工作时间（客服在线时间8:00-24:00），您的留言我们上班后第一时间回复您~",
    "您好，客服已下班，您可以先留言，明早8点后我们会尽快回复哦",
)

# --- system messages -----------------------------------------------------------------------------

SYSTEM_ORDER = "系统消息：买家已下单，实付¥{amount}"
SYSTEM_TRANSFER = "系统消息：会话已转接给 {agent}"
SYSTEM_TIMEOUT = "系统消息：买家超过30分钟未回复，会话已自动结束"

# --- topics: (buyer question, (clean agent answers…)) --------------------------------------------

TOPICS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "size": (
        ("{p}平时穿{size}码，拍哪个码合适？", (
            "亲，这款版型偏小，建议您拍大一码哦，具体可以参考详情页的尺码表~",
            "亲，平时穿{size}码的话正常拍{size}码就可以啦，有疑问可以把身高体重发我帮您推荐",
        )),
        ("孩子身高120，体重22斤，{p}选多大", (
            "亲，按孩子的身高体重推荐拍120码，第一次买的话可以参考尺码表哦",
            "亲，这个身高体重建议选120码，穿着会比较合身~",
        )),
        ("{p}会不会掉色", (
            "亲，正常洗涤不会严重掉色，首次清洗建议冷水单独洗哦",
            "亲，深色款第一次洗可能会有少量浮色，属于正常现象，之后就好了",
        )),
        ("{p}会不会缩水？", (
            "亲，{p}是预缩处理过的，按洗标说明洗涤基本不会缩水哦",
            "第一次洗的时候建议冷水手洗，这样不容易变形哦",
        )),
    ),
    "spec": (
        ("{p}有几种规格？", (
            "亲，{p}目前有两种规格可选，您可以在商品页面选择哦~",
            "您好，规格在下单页面都能看到，有不清楚的我帮您对比一下",
        )),
        ("{p}和上一代有什么区别", (
            "亲，新款在做工和细节上都做了升级，详情页有对比图，您可以看一下哦",
            "新款主要是用料升级了，价格只贵一点点，性价比挺高的",
        )),
        ("这个{p}怎么用？", (
            "亲，包装里有使用说明书，第一次使用前建议先看一下哦，有问题随时问我",
            "亲，使用方法在详情页最后有视频演示，我把步骤发您：先清洁，再按说明操作即可~",
        )),
    ),
    "shipping": (
        ("{p}今天能发货吗？", (
            "亲，今天16点前付款当天就能发出，16点后次日发出哦~",
            "亲，现在下单48小时内为您发货，发货后会有物流信息更新哦",
        )),
        ("发什么快递？几天能到", (
            "亲，默认发中通或韵达，一般发货后2-4天送达，偏远地区会慢一点哦",
            "亲，我们合作的是顺丰和圆通，江浙沪一般隔天就到啦",
        )),
        ("我的快递怎么好几天没动了", (
            "亲，非常抱歉让您久等了，我马上帮您联系快递核实，有结果第一时间回复您",
            "亲，最近物流有点慢，我这边已经帮您催件了，请您再耐心等一下哦",
        )),
        ("能改一下收货地址吗", (
            "亲，还没发货的话可以修改的，麻烦把新地址发我一下，我帮您备注~",
            "亲，您在订单页面点修改地址就可以啦，已经发货的话我帮您联系快递转寄",
        )),
    ),
    "invoice": (
        ("{p}能开发票吗？", (
            "亲，可以开的，确认收货后在订单页申请电子发票就可以啦~",
            "亲，我们支持开具增值税普通发票，您把抬头和税号发我，我帮您登记",
        )),
        ("发票什么时候能开好", (
            "亲，交易成功后10天内为您开具，开好会发到您的邮箱哦",
            "您好，电子发票一般1-3个工作日开出，请您留意订单消息~",
        )),
    ),
    "refund": (
        ("{p}不想要了，怎么退款", (
            "亲，没发货的话您直接申请退款，我这边马上为您处理哦",
            "亲，支持7天无理由退货，您在订单里申请退货，按提示寄回就可以~",
        )),
        ("收到的{p}有破损", (
            "非常抱歉给您带来不好的体验，麻烦拍一下破损处的照片发我，我马上为您处理补发或退款",
            "亲，实在抱歉，您申请一下售后，选择质量问题，运费我们承担哦",
        )),
        ("退款怎么还没到账", (
            "亲，退款已经审核通过了，原路退回一般1-3个工作日到账，请您留意一下哦",
            "亲，我帮您查了一下，退款已经处理，到账时间以支付渠道为准，还请耐心等待",
        )),
        ("换货的话运费谁出", (
            "亲，如果是质量问题运费由我们承担；非质量问题需要您承担寄回运费哦，感谢理解",
            "亲，您买的时候有运费险的话，寄回运费可以由运费险赔付哦",
        )),
    ),
    "quality": (
        ("{p}是正品吗", (
            "亲，我们是品牌授权店铺，所有商品都是正品，支持专柜验货哦",
            "亲，放心，店铺所有商品都有质检报告，您可以在详情页查看~",
        )),
        ("{p}是什么材质的", (
            "亲，材质信息在详情页参数里有写，这款用的是环保材料，可以放心使用哦",
            "这款的用料做工都不错，不少老顾客回购，您可以看看评价区的实拍",
        )),
        ("{p}质量怎么样，耐用吗", (
            "亲，这款是店里的老款了，品控一直很稳定，收到有任何问题都可以联系我们处理",
            "亲，质量您放心，支持7天无理由退换，收到不满意可以退的",
        )),
    ),
    "price": (
        ("{p}还能便宜点吗", (
            "亲，现在是活动价了，您可以领取店铺满减券，下单更划算哦",
            "亲，价格已经很实惠啦，我帮您申请一个小赠品，您看可以吗？",
        )),
        ("有优惠券吗", (
            "亲，店铺首页可以领满199减20的券，第一次购买还有新人券哦",
            "亲，现在下单可以参加满减活动，结算时会自动优惠的~",
        )),
        ("{p}多少钱", (
            "亲，{p}现在活动价{price}元，今天下单还能用券哦",
            "亲，页面显示的就是实时价格，{price}元，包邮的哦",
        )),
    ),
    "stock": (
        ("{p}还有货吗", (
            "亲，有现货的，今天拍今天发~",
            "亲，这个规格暂时断码了，给您推荐同系列的另外两款，也很受欢迎哦",
        )),
        ("什么时候补货", (
            "亲，预计下周补货，您可以先收藏加购，到货会通知您哦",
            "亲，这款最近比较火，补货后我第一时间通知您~",
        )),
    ),
}

# Shop kinds pick which topics buyers ask about (clothes get sizing questions, tea and gadgets do not).
KIND_TOPICS: dict[str, tuple[str, ...]] = {
    "apparel": ("size", "size", "shipping", "invoice", "refund", "quality", "price", "stock"),
    "goods": ("spec", "spec", "shipping", "shipping", "invoice", "refund", "quality", "price", "stock"),
}

SIZES: tuple[str, ...] = ("S", "M", "L", "XL", "110", "120", "130")

# --- violations an agent commits, filed by rule category -------------------------------------------

VIOLATIONS: dict[str, tuple[str, ...]] = {
    "diversion": (
        "加我微信吧，实拍图发你更清楚",
        "亲，V❤信 聊更方便哦，我发你优惠券",
        "薇信同号，有问题直接找我",
        "扣扣 12345678 加一下，给你发细节图",
        "手机 138 0013 8000，有问题直接打给我",
        "我电话一三八零零一三八零零零，直接联系我",
        "去我们淘宝店拍更便宜：https://item.taobao.com/item.htm?id=623456789",
        "京东同款便宜20，链接发你：https://item.jd.com/100012345678.html",
        "直接支付宝转账给我就行，不用走平台",
        "可以线下交易，省点手续费",
        "+V：kefu_88 拉你进福利群",
        "我们不能加微信哦，有问题在这里问我就好",
    ),
    "abuse": (
        "你有病吧",
        "我要举报你",
        "爱买不买，神经病",
        "你是不是傻，说了多少遍了",
        "再闹就拉黑你",
    ),
    "attitude": (
        "你自己不会看吗？详情页写得清清楚楚",
        "找快递去，不关我们的事",
        "这不是我们的问题",
        "都说了多少遍了，烦不烦",
        "喂，说话呀",
        "你到底买不买？",
    ),
    "superlative": (
        "我们家是全网最低价，放心拍",
        "绝对正品，销量第一",
        "这款{p}品质最好，全国第一",
        "史上最低价，错过就没有了",
        "顶级工艺，国家级品质",
    ),
    "wording": (
        "这个宝贝今天就能发",
        "宝贝已经帮您备注好了哦",
        "亲，这款宝贝很多人回购的",
    ),
    "review_invite": (
        "收到货给个五星好评哦",
        "亲，麻烦给个好评，返您5元红包",
        "好评晒图截图发我，返现3元",
    ),
    "broken_promise": (
        "我们不开发票的哦",
        "特价商品不开票",
        "偏远地区不包邮，要补10元运费",
        "开票要加6个点的税",
        "只能开收据哦",
        "这个不支持七天无理由",
    ),
    "stockout": (
        "这个规格没货了",
        "{p}暂时缺货，等补货吧",
        "卖完了，没有了",
    ),
    "overpromise": (
        "保证不掉色不起球",
        "{p}绝对不会起球，放心",
        "肯定明天就到",
        "保证您用了满意，百分百没问题",
    ),
    "negative_refusal": (
        "不能便宜",
        "没有赠品",
        "不议价的",
    ),
    "privacy": (
        "您邻居王女士也在我们家买过，她住幸福路12号3栋",
        "这个订单是另一个账号下的，收货人李先生，地址在朝阳区建国路88号",
    ),
    "pii": (
        "收货人张女士，电话13812345678，地址没问题吧？",
        "核对一下：手机号13987654321，收货地址对吗",
    ),
    "fraud": (
        "帮我们刷个单吧，拍下不发货，返你10块",
        "拍一单确认收货，给五星返现15元",
    ),
}

# Categories a good agent may slip into now and then; the rest only bad agents commit.
MILD_CATEGORIES: frozenset[str] = frozenset(
    {"superlative", "stockout", "overpromise", "wording", "review_invite", "negative_refusal", "broken_promise"}
)

# Categories whose phrase is often tacked onto an otherwise fine answer ("…当天发出，加我微信吧").
APPENDABLE_CATEGORIES: frozenset[str] = frozenset(
    {"diversion", "superlative", "overpromise", "review_invite", "wording", "fraud", "pii"}
)

# Platforms a category is specific to; categories not listed happen everywhere.
VIOLATION_PLATFORMS: dict[str, frozenset[str]] = {
    "wording": frozenset({"pinduoduo"}),
    "review_invite": frozenset({"douyin"}),
    "negative_refusal": frozenset({"douyin"}),
    "stockout": frozenset({"tmall", "taobao"}),
    "pii": frozenset({"pinduoduo"}),
}

# Phrases that are no violation on some platforms: naming (and linking) a shop's own platform is fine.
PHRASE_NOT_ON: dict[str, frozenset[str]] = {
    "去我们淘宝店拍更便宜：https://item.taobao.com/item.htm?id=623456789": frozenset({"taobao", "tmall"}),
    "京东同款便宜20，链接发你：https://item.jd.com/100012345678.html": frozenset({"jd"}),
}

# Night contact (22:00–08:00) and repeated identical messages are 骚扰 (harassment).
HARASSMENT_NIGHT: tuple[str, ...] = (
    "亲，在吗？您拍下的{p}还没付款哦，再不付款就被抢光了",
    "亲，睡了吗？{p}今晚下单有优惠哦",
)
HARASSMENT_REPEAT: tuple[str, ...] = (
    "亲，在吗？",
    "亲，请问还有什么需要帮助的吗？",
    "亲，记得付款哦",
)
