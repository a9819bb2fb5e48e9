"""Chinese templates and word lists for the corpus text generator (written for voxsmith).

Vocabulary is everyday Mandarin at about HSK 1-4 level, chosen by hand to cover common
initials, finals and all four tones plus the neutral tone. Polyphone sentences put frequent
polyphonic characters (行 长 重 乐 还 觉 调 角 地 得 便 中 为 种 教 数 好 少 发 都 藏 着 传 的 了)
in both of their readings, following the readings of the Xiandai Hanyu Cidian. Mixed
sentences embed English words the way Mandarin speakers commonly do. Nothing here was
downloaded or copied from a corpus.
"""

from __future__ import annotations

SLOTS: dict[str, tuple[str, ...]] = {
    "person": (
        "我", "你", "他", "她", "我们", "他们", "老师", "同学们", "我的朋友", "小王", "李阿姨",
        "张经理", "妈妈", "爸爸", "爷爷", "奶奶", "邻居家的孩子", "那位医生", "司机师傅", "新来的同事",
        "我姐姐", "他弟弟", "班长", "校长", "服务员", "那个小女孩", "陈教授", "刘师傅", "王律师", "小赵",
    ),
    "time": (
        "今天", "这个周末", "每天中午", "星期三", "国庆节的时候", "春节前", "每个星期五", "半夜", "一大早",
    ),
    "past": ("昨天晚上", "上个星期", "刚才", "去年夏天", "前几天", "前天下午", "上个月", "那天早上"),
    "future": ("明天早上", "下个月", "后天下午", "明年春天", "下个星期", "过几天", "今天晚上", "这个周末"),
    "place": (
        "公园", "图书馆", "超市", "火车站", "医院", "学校门口", "咖啡馆", "海边", "山上", "办公室",
        "菜市场", "博物馆", "机场", "体育馆", "动物园", "书店", "饭馆", "银行", "邮局", "广场",
        "河边", "地铁站", "电影院", "花园", "实验室", "小区门口", "长城", "西湖边", "老家", "宿舍",
    ),
    "activity": (
        "散步", "看书", "买菜", "开会", "打篮球", "学习中文", "写报告", "做饭", "看电影", "练习书法",
        "修理自行车", "等公共汽车", "跑步", "拍照片", "喝咖啡", "聊天", "画画", "弹钢琴", "踢足球", "游泳",
        "复习功课", "排队买票", "整理房间", "准备考试", "参加比赛", "种花", "钓鱼", "打扫卫生", "包饺子",
    ),
    "object": (
        "这本书", "那台电脑", "一杯热茶", "新手机", "红色的雨伞", "旧照片", "这封信", "一张地图",
        "那双皮鞋", "这把椅子", "一瓶牛奶", "那辆自行车", "这件毛衣", "一盒巧克力", "那个杯子", "这幅画",
        "一顶帽子", "那条裙子", "这台冰箱", "一束鲜花", "这块手表", "那张桌子", "一副眼镜", "这个箱子",
    ),
    "adj": (
        "很好", "特别贵", "非常漂亮", "有点儿奇怪", "太复杂了", "挺方便的", "真安静", "非常干净",
        "比较便宜", "特别热闹", "有意思", "很舒服", "太远了", "非常重要", "真可爱", "相当难", "很新鲜",
    ),
    "weather": ("下雨", "刮大风", "下雪", "打雷", "降温", "下冰雹", "起雾"),
    "food": ("米饭", "面条", "饺子", "包子", "水果", "青菜", "鱼", "豆腐", "鸡蛋汤", "烤鸭", "西瓜", "月饼"),
    "city": ("北京", "上海", "广州", "深圳", "成都", "西安", "杭州", "南京", "武汉", "重庆", "青岛", "昆明"),
    "tool": ("Python", "Excel", "Word", "Photoshop", "GitHub", "ChatGPT"),
    "device": ("iPhone", "iPad", "MacBook", "Kindle", "Apple Watch", "U盘"),
    "doc": ("PDF", "PPT", "Excel表格", "Word文档"),
}  # fmt: skip

STATEMENTS: tuple[str, ...] = (
    "{person}{time}在{place}{activity}。",
    "{past}{person}去{place}{activity}了。",
    "{person}觉得{object}{adj}。",
    "{person}打算{future}去{city}看看。",
    "听说{city}{future}会{weather}，出门记得多穿点。",
    "{person}最喜欢吃{food}，尤其是妈妈做的。",
    "{place}里人不多，{adj}。",
    "{person}把{object}放在桌子上了。",
    "我们约好{future}在{place}见面。",
    "{person}每天都要{activity}，已经坚持了很久。",
    "如果{future}不{weather}，我们就去{place}{activity}。",
    "{person}送给我{object}，我非常感谢。",
    "虽然{object}{adj}，但是{person}还是买了。",
    "{person}一边{activity}，一边听音乐。",
    "到了{city}以后，{person}先去了{place}。",
    "{person}说{place}附近新开了一家饭馆。",
    "除了{food}以外，{person}什么都不想吃。",
    "{person}在{place}丢了{object}，找了半天也没找到。",
)  # fmt: skip

QUESTIONS: tuple[str, ...] = (
    "你{future}要去{place}吗？",
    "{person}为什么不想{activity}？",
    "{object}多少钱？",
    "你觉得{object}怎么样？",
    "{place}离这儿远不远？",
    "我们{future}一起去{place}{activity}，好不好？",
    "{person}是不是已经到{city}了？",
    "请问去{place}怎么走？",
    "你喜欢吃{food}还是{food2}？",
    "{city}{future}会不会{weather}？",
    "谁把{object}拿走了？",
    "你能不能帮我看一下{object}？",
)  # fmt: skip

NUMBERS: tuple[str, ...] = (
    "会议定在{year}年{month}月{day}日上午{hour_am}点{minute}分开始。",
    "这件衣服打折以后只要{price}元。",
    "今天的最高气温是{temp}度，比昨天高了{small}度。",
    "我的电话号码是{phone}，有事请打给我。",
    "今年的销售额增长了{pct}%。",
    "他昨天一共跑了{dist}公里。",
    "火车{hour}点{minute}分从{city}出发。",
    "这个房间的面积大约是{area}平方米。",
    "我们班一共有{count}个学生，其中{small}个是新来的。",
    "这本书一共有{pages}页，我已经看了一半。",
    "从这里到{city}大概需要{small}个小时。",
    "他的身高是{height}米，体重{weight}公斤。",
    "第{small}排第{count}号座位在哪里？",
    "今天是{month}月{day}日，星期{weekday}。",
)  # fmt: skip

# Sentences built around polyphonic characters, each reading used at least once.
POLYPHONES: tuple[str, ...] = (
    "我去银行取钱，然后步行回家。",
    "他长大以后，头发留得很长。",
    "我们重新检查了一遍重要的文件。",
    "音乐让每个人都很快乐。",
    "你还是先把书还给他吧。",
    "我觉得睡觉之前不要喝咖啡。",
    "警察调查以后发现那个孩子只是调皮。",
    "这个角色在三角关系里很难演。",
    "他认真地学习，得到了老师的表扬。",
    "这种便宜的东西用起来很方便。",
    "中午他看中了一件外套。",
    "他们为了这件事成为好朋友。",
    "农民在田里种了好几种蔬菜。",
    "教书的老师教我们唱歌。",
    "我数了好几遍，数目还是不对。",
    "他好学，特别好问问题。",
    "多少年过去了，他一点也不少年老成。",
    "他理了发，出发去参加婚礼。",
    "我们都去过首都的博物馆。",
    "宝藏藏在西藏的一座山里。",
    "他着急地找着丢了的钥匙。",
    "这个传说一代一代地传了下来。",
    "我了解了情况，你放心好了。",
    "这条路太长了，我们走了很长时间。",
    "行李放在行人道上很危险。",
    "重量超过二十公斤要另外付钱。",
    "他得去医院，不得不请假。",
    "大家都说都江堰很值得一看。",
    "我看得出来，他跑得很快。",
    "这个地方的空气很好。",
    "他差点儿迟到，还好差距不大。",
    "把盖子盖好，别让灰尘落进去。",
    "请把那首曲子再弹一遍。",
    "会计算了一下这个月的开支。",
    "他背着书包，背了一首诗。",
    "这朵花的颜色很好看，也很好闻。",
    "看了这部电影，我才知道结果。",
    "我们应该相信自己，也应该互相帮助。",
    "他在朝阳区住了三个朝代那么久，这只是个玩笑。",
    "这家店的生意不错，卖的东西也很实在。",
)  # fmt: skip

MIXED: tuple[str, ...] = (
    "我今天用{tool}写了一个小程序。",
    "这个{tool}真的很好用。",
    "我们下午开个meeting讨论一下吧。",
    "请把这份文件做成{doc}发给我。",
    "他的{device}坏了，什么都打不开。",
    "{person}昨天买了一个新的{device}。",
    "你会用{tool}吗？",
    "周末一起去看NBA比赛吧。",
    "我刚买了一台新的iPad，屏幕特别大。",
    "老板说这个project下周一之前必须完成。",
    "你的Wi-Fi密码是多少？",
    "我在YouTube上看到一个很有意思的视频。",
    "明天的presentation准备好了吗？",
    "这次考试我考了个A，太开心了。",
    "他每天早上都要喝一杯latte。",
    "我们team的同事都很nice。",
    "这个问题可以问一下AI助手。",
)  # fmt: skip

WEEKDAYS = ("一", "二", "三", "四", "五", "六", "天")
