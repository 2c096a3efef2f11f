import Foundation

/// One opening on one day, in minutes after midnight Asia/Shanghai: [open, close).
public struct DayInterval: Hashable, Sendable, Codable {
    public let open: Int
    public let close: Int

    public init(open: Int, close: Int) {
        self.open = open
        self.close = close
    }

    public func contains(_ minute: Int) -> Bool { minute >= open && minute < close }

    /// `08:00-20:00`.
    public var text: String { Self.clock(open) + "-" + Self.clock(close) }

    public static func clock(_ minute: Int) -> String {
        let h = minute / 60, m = minute % 60
        return (h < 10 ? "0" : "") + String(h) + ":" + (m < 10 ? "0" : "") + String(m)
    }
}

/// A weekly schedule: for each day (0 Monday … 6 Sunday) its openings.
///
/// Written as text the way staff type it into Excel, in Chinese or in the OpenStreetMap style:
/// `周一至周五 08:00-20:00；周六、周日 09:00-17:00`, `Mo-Fr 08:00-20:00; Sa,Su 09:00-12:00,13:00-17:00`,
/// `每天 07:00-22:00`, `24小时` or `24/7`, `周日 休息` (a day named with `closed`/`休息` after an earlier
/// part clears it). A day's openings may not overlap; each ends after it starts (`24:00` ends the day);
/// a night across midnight is two openings, one each side of it.
public struct WeeklyHours: Hashable, Sendable {
    public private(set) var days: [[DayInterval]]

    public init(days: [[DayInterval]] = Array(repeating: [], count: 7)) {
        precondition(days.count == 7)
        self.days = days
    }

    public static let alwaysOpen = WeeklyHours(days: Array(repeating: [DayInterval(open: 0, close: 1440)], count: 7))

    public var isEmpty: Bool { days.allSatisfy(\.isEmpty) }
    public var isAlwaysOpen: Bool { self == .alwaysOpen }

    public enum ParseError: Error, Equatable, Sendable {
        /// A part that is neither days nor times: the part as written.
        case format(String)
        /// A time that is not HH:MM within 00:00…24:00.
        case time(String)
        /// An opening that ends at or before it starts (`22:00-06:00`).
        case endBeforeStart(String)
        /// Two openings on the same day that overlap: the day (0 Monday) and the second opening.
        case overlap(day: Int, String)
    }

    static let dayTokens: [String: Int] = {
        var map: [String: Int] = [:]
        let english = [["mo", "mon", "monday"], ["tu", "tue", "tues", "tuesday"], ["we", "wed", "wednesday"], ["th", "thu", "thur", "thurs", "thursday"],
                       ["fr", "fri", "friday"], ["sa", "sat", "saturday"], ["su", "sun", "sunday"]]
        for (i, names) in english.enumerated() { for n in names { map[n] = i } }
        let chinese = ["一", "二", "三", "四", "五", "六", "日"]
        for (i, c) in chinese.enumerated() {
            for prefix in ["周", "星期", "礼拜", ""] { map[prefix + c] = i }
        }
        for prefix in ["周", "星期", "礼拜"] { map[prefix + "天"] = 6 }
        return map
    }()

    /// Parses the text form; empty text is an empty schedule (hours not known).
    public init(parsing raw: String) throws(ParseError) {
        self.init()
        let text = Normalize.halfWidth(raw)
            .replacingOccurrences(of: "：", with: ":")
            .replacingOccurrences(of: "—", with: "-").replacingOccurrences(of: "–", with: "-")
            .replacingOccurrences(of: "～", with: "-").replacingOccurrences(of: "~", with: "-")
            .lowercased()
        let parts = text.split(whereSeparator: { $0 == ";" || $0 == "；" || $0 == "\n" || $0 == "\r" })
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for part in parts { try apply(part) }
    }

    private mutating func apply(_ part: String) throws(ParseError) {
        if ["24/7", "24小时", "24 小时", "全天", "全天24小时", "全天 24 小时", "24h", "always"].contains(part) {
            self = .alwaysOpen
            return
        }
        // Split at the first character that begins a time (a digit that is followed by ':').
        let chars = Array(part)
        var split = chars.count
        var i = 0
        while i < chars.count {
            if chars[i].isASCII, chars[i].isNumber, let colon = chars[i...].firstIndex(of: ":"), colon - i <= 2,
               chars[i..<colon].allSatisfy({ $0.isASCII && $0.isNumber }) {
                split = i
                break
            }
            i += 1
        }
        let dayText = String(chars[..<split]).trimmingCharacters(in: .whitespaces)
        var timeText = String(chars[split...]).trimmingCharacters(in: .whitespaces)
        // "周日 休息" / "Su closed": no times, the closing word after the days.
        for word in ["closed", "off", "休息", "闭馆", "不开放", "关闭"] where dayText.hasSuffix(word) && timeText.isEmpty {
            for d in try Self.days(String(dayText.dropLast(word.count)).trimmingCharacters(in: .whitespaces), part: part) { days[d] = [] }
            return
        }
        var dayPart = dayText
        for word in ["24小时", "全天"] where dayPart.hasSuffix(word) && timeText.isEmpty {
            dayPart = String(dayPart.dropLast(word.count)).trimmingCharacters(in: .whitespaces)
            timeText = "00:00-24:00"
        }
        let selected = try Self.days(dayPart, part: part)
        guard !timeText.isEmpty else { throw .format(part) }
        var openings: [DayInterval] = []
        for piece in timeText.split(whereSeparator: { $0 == "," || $0 == "，" || $0 == "、" || $0 == " " }) {
            let ends = piece.split(separator: "-", omittingEmptySubsequences: false)
            guard ends.count == 2 else { throw .format(part) }
            let open = try Self.minute(String(ends[0]))
            let close = try Self.minute(String(ends[1]))
            guard close > open else { throw .endBeforeStart(String(piece)) }
            guard open < 1440 else { throw .time(String(ends[0])) }
            openings.append(DayInterval(open: open, close: close))
        }
        for d in selected {
            for o in openings {
                if days[d].contains(where: { $0.open < o.close && o.open < $0.close }) { throw .overlap(day: d, o.text) }
                days[d].append(o)
            }
            days[d].sort { $0.open < $1.open }
        }
    }

    /// `周一至周五`, `Mo-Fr`, `Sa,Su`, `周六、周日`, `每天` or nothing (every day).
    static func days(_ raw: String, part: String) throws(ParseError) -> [Int] {
        let text = raw.trimmingCharacters(in: .whitespaces)
        if text.isEmpty || ["每天", "每日", "daily", "everyday", "every day", "周一至周日", "mo-su"].contains(text) { return Array(0..<7) }
        if text == "工作日" || text == "weekdays" { return Array(0..<5) }
        if text == "周末" || text == "weekends" || text == "weekend" { return [5, 6] }
        var result: [Int] = []
        for item in text.split(whereSeparator: { $0 == "," || $0 == "，" || $0 == "、" || $0 == " " }) {
            var ends: [Substring] = []
            for sep in ["至", "到", "-"] where item.contains(sep) {
                ends = item.components(separatedBy: sep).map { Substring($0) }
                break
            }
            if ends.isEmpty { ends = [item] }
            guard (1...2).contains(ends.count) else { throw .format(part) }
            var numbers: [Int] = []
            for (k, end) in ends.enumerated() {
                var token = end.trimmingCharacters(in: .whitespaces)
                // "周一至五": the second end borrows the first's prefix.
                if k == 1, dayTokens[token] == nil, let prefix = ["星期", "礼拜", "周"].first(where: { ends[0].hasPrefix($0) }) { token = prefix + token }
                guard let d = dayTokens[token] else { throw .format(part) }
                numbers.append(d)
            }
            if numbers.count == 1 { result.append(numbers[0]) } else {
                var d = numbers[0]
                while true {
                    result.append(d)
                    if d == numbers[1] { break }
                    d = (d + 1) % 7
                }
            }
        }
        return Array(Set(result)).sorted()
    }

    static func minute(_ raw: String) throws(ParseError) -> Int {
        let text = raw.trimmingCharacters(in: .whitespaces)
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...2).contains(parts[0].count), parts[1].count == 2,
              let h = Int(parts[0]), let m = Int(parts[1]), (0...24).contains(h), (0..<60).contains(m), h * 60 + m <= 1440
        else { throw .time(text) }
        return h * 60 + m
    }

    /// Runs of days with the same openings, for the canonical text and for pages: `(0...4, [08:00-20:00])`.
    public var groups: [(days: ClosedRange<Int>, openings: [DayInterval])] {
        var result: [(ClosedRange<Int>, [DayInterval])] = []
        var start = 0
        for d in 1...7 where d == 7 || days[d] != days[start] {
            result.append((start...(d - 1), days[start]))
            start = d
        }
        return result
    }

    static let osmDays = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]

    /// The canonical text: `Mo-Fr 08:00-20:00; Sa-Su 09:00-17:00`, `24/7`, or empty (nothing known). Parses back to the same schedule.
    public var text: String {
        if isEmpty { return "" }
        if isAlwaysOpen { return "24/7" }
        // Days not named are closed, so closed runs are left out.
        return groups.filter { !$0.openings.isEmpty }.map { g -> String in
            let days = g.days.count == 1 ? Self.osmDays[g.days.lowerBound] : Self.osmDays[g.days.lowerBound] + "-" + Self.osmDays[g.days.upperBound]
            return days + " " + g.openings.map(\.text).joined(separator: ",")
        }.joined(separator: "; ")
    }
}

/// A change to the weekly hours on some dates: a public holiday, a temporary closure, or special hours.
public struct HoursException: Hashable, Sendable {
    public let from: CalendarDate
    public let to: CalendarDate
    /// Empty: closed all day.
    public let openings: [DayInterval]
    let fromDay: Int
    let toDay: Int

    public init(from: CalendarDate, to: CalendarDate, openings: [DayInterval]) {
        self.from = from
        self.to = to
        self.openings = openings
        fromDay = from.dayNumber
        toDay = to.dayNumber
    }
}

/// When a site is open: its weekly hours, bent by its exceptions, read in Asia/Shanghai (UTC+8,
/// no daylight saving since 1991, so local time is plain arithmetic on the epoch).
public struct SiteSchedule: Hashable, Sendable {
    public let weekly: WeeklyHours
    public let exceptions: [HoursException]

    public init(weekly: WeeklyHours, exceptions: [HoursException] = []) {
        self.weekly = weekly
        self.exceptions = exceptions
    }

    /// Local day number and minute of the day in Asia/Shanghai for seconds since 1970.
    public static func local(_ epochSeconds: Double) -> (day: Int, minute: Int) {
        let local = Int((epochSeconds + 8 * 3600).rounded(.down))
        let day = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        return (day, (local - day * 86_400) / 60)
    }

    /// The openings on one day (day number since 1970-01-01, local).
    public func openings(onDay day: Int) -> [DayInterval] {
        if !exceptions.isEmpty, let e = exceptions.last(where: { $0.fromDay <= day && day <= $0.toDay }) { return e.openings }
        let weekday = ((day % 7) + 7 + 3) % 7
        return weekly.days[weekday]
    }

    public func isOpen(day: Int, minute: Int) -> Bool {
        openings(onDay: day).contains { $0.contains(minute) }
    }

    public func isOpen(atEpoch seconds: Double) -> Bool {
        let (day, minute) = Self.local(seconds)
        return isOpen(day: day, minute: minute)
    }

    /// What changes next, for "open until 20:00" and "opens tomorrow at 08:00": `open` is the
    /// state after the change. Nil when nothing changes within a week (always open, or never).
    public func nextChange(atEpoch seconds: Double) -> (open: Bool, day: Int, minute: Int)? {
        let (day, minute) = Self.local(seconds)
        if let current = openings(onDay: day).first(where: { $0.contains(minute) }) {
            // Follow an opening that runs to midnight into one that starts at 00:00 the next day.
            var d = day, close = current.close
            while close == 1440, let next = openings(onDay: d + 1).first, next.open == 0 {
                d += 1
                close = next.close
                if d > day + 7 { return nil }
            }
            return (false, d, close)
        }
        for d in day...(day + 7) {
            if let o = openings(onDay: d).first(where: { d > day || $0.open > minute }) { return (true, d, o.open) }
        }
        return nil
    }
}
