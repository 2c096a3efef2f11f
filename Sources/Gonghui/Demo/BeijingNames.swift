/// Real street and township names of each Beijing district (a selection), and stems for
/// plausible invented ones when a seed asks for more streets than the list holds.
enum BeijingNames {
    static let streets: [String: [String]] = [
        "110101": ["东华门街道", "景山街道", "交道口街道", "安定门街道", "朝阳门街道", "建国门街道"],
        "110102": ["西长安街街道", "新街口街道", "月坛街道", "展览路街道", "德胜街道", "金融街街道"],
        "110105": ["建外街道", "朝外街道", "呼家楼街道", "三里屯街道", "望京街道", "酒仙桥街道"],
        "110106": ["右安门街道", "太平桥街道", "卢沟桥街道", "方庄街道", "新村街道"],
        "110107": ["八宝山街道", "老山街道", "八角街道", "古城街道", "苹果园街道"],
        "110108": ["中关村街道", "海淀街道", "学院路街道", "清河街道", "上地街道", "万柳地区"],
        "110109": ["大峪街道", "城子街道", "东辛房街道", "永定镇"],
        "110111": ["城关街道", "拱辰街道", "良乡镇", "长阳镇"],
        "110112": ["中仓街道", "新华街道", "北苑街道", "玉桥街道", "宋庄镇"],
        "110113": ["胜利街道", "光明街道", "仁和镇", "后沙峪镇"],
        "110114": ["城北街道", "回龙观街道", "天通苑北街道", "南邵镇"],
        "110115": ["兴丰街道", "清源街道", "黄村镇", "旧宫镇"],
        "110116": ["泉河街道", "龙山街道", "雁栖镇"],
        "110117": ["滨河街道", "兴谷街道", "马坊镇"],
        "110118": ["鼓楼街道", "果园街道", "溪翁庄镇"],
        "110119": ["儒林街道", "百泉街道", "延庆镇"],
        "": ["荣华街道", "博兴街道"],
    ]

    static let streetStems = ["安华", "和平", "永安", "广安", "长青", "新源", "康乐", "丰泽", "金台", "青年",
                              "育新", "花园", "双榆", "文化", "振兴", "兴隆", "朝晖", "锦绣", "瑞祥", "景泰"]

    static let companyStems = ["华联", "京信", "恒达", "中科", "燕京", "和信", "盛世", "启明", "长城", "金桥",
                               "博远", "宏图", "新源", "东方", "天坛", "永泰", "德润", "嘉禾", "鼎盛", "云帆"]
    static let trades = ["科技", "物流", "餐饮", "建设", "物业", "商贸", "医药", "快递", "软件", "文化传媒"]
    static let buildings = ["国贸", "银泰", "财富", "万达", "华贸", "环球", "融科", "凯德", "太阳宫", "金融"]
    static let industries = ["快递", "网约配送", "家政服务", "出租汽车", "物业服务", "建筑", "餐饮", "商超"]
    static let others = ["第一中学", "人民医院", "中心幼儿园", "图书馆", "文化馆", "社区卫生服务中心"]

    /// The `n`-th street name of a district: the real ones first, then invented ones.
    static func street(district code: String, _ n: Int) -> String {
        let real = streets[code] ?? []
        if n < real.count { return real[n] + "总工会" }
        let k = n - real.count
        let stem = streetStems[k % streetStems.count]
        let round = k / streetStems.count
        return stem + (round == 0 ? "" : ["东", "西", "南", "北", "中"][(round - 1) % 5] + (round > 5 ? "\(round)" : "")) + "街道总工会"
    }

    /// A plausible grassroots union of the given kind; `n` makes it unique within its street.
    static func union(_ kind: String, street: String, _ n: Int) -> String {
        let place = String(street.replacingOccurrences(of: "街道总工会", with: "").replacingOccurrences(of: "镇总工会", with: "")
            .replacingOccurrences(of: "地区总工会", with: "").prefix(4))
        let stem = companyStems[n % companyStems.count]
        let series = n / companyStems.count == 0 ? "" : "\(n / companyStems.count + 1)"
        switch kind {
        case "community": return "\(place)\(["东里", "西里", "北里", "南里", "新村", "家园"][n % 6])\(series)社区工会"
        case "building": return "\(buildings[n % buildings.count])\(series)大厦楼宇工会联合会"
        case "industry": return "\(place)\(industries[n % industries.count])行业工会联合会\(series)"
        case "other": return "\(place)\(others[n % others.count])\(series)工会"
        default: return "北京\(stem)\(trades[(n / 3) % trades.count])有限公司\(series)工会"
        }
    }
}

import Foundation
