/// Communication meetings (双沟通): workers' meetings held by streets and districts, and visits to
/// enterprises; and the calendar that says which weekly meetings and monthly days are missing.

/// `worker` (职工沟通会) or `enterprise` (企业沟通会).
public enum MeetingKind: String, CaseIterable, Codable, Sendable {
    case worker, enterprise
}

/// Which series a meeting belongs to: a street's weekly workers' meeting, a district's monthly
/// communication day, a citywide event, or (enterprise meetings) a visit.
public enum MeetingSeries: String, CaseIterable, Codable, Sendable {
    case weekly, districtDay, citywide, visit

    public func fits(_ kind: MeetingKind) -> Bool {
        switch self {
        case .visit: kind == .enterprise
        case .weekly, .districtDay, .citywide: kind == .worker
        }
    }
}

/// What an enterprise meeting came to for one enterprise.
public enum VisitOutcome: String, CaseIterable, Codable, Sendable {
    case pending, noInterest, intent, founded

    /// The union status a firm reaches through this outcome, if it moves at all.
    public var unionStatus: UnionStatus? {
        switch self {
        case .pending, .noInterest: nil
        case .intent: .intent
        case .founded: nil // the union is founded by recording its election, which creates the node
        }
    }
}

/// The planning calendar's arithmetic: Monday-based weeks and calendar months.
public enum MeetingCalendar {
    /// The Mondays of the weeks of `month` in `year`: the weeks a street owes a meeting for that month.
    public static func weekStarts(year: Int, month: Int) -> [CalendarDate] {
        // A week belongs to the month that holds its Thursday (as ISO 8601 weeks belong to years):
        // every week to exactly one month, and the current week always to the month it is mostly in
        // (Monday 30 November 2026 starts one of December's weeks, so December shows the week of the 3rd).
        let first = try! CalendarDate(year: year, month: month, day: 1)
        var monday = weekStart(of: first)
        if monday.adding(days: 3).month != month { monday = monday.adding(days: 7) }
        var days: [CalendarDate] = []
        while monday.adding(days: 3).month == month {
            days.append(monday)
            monday = monday.adding(days: 7)
        }
        return days
    }

    /// The Monday of the week holding `date`.
    public static func weekStart(of date: CalendarDate) -> CalendarDate {
        date.adding(days: -date.weekdayIndex)
    }

    /// For each week of the month, whether a meeting fell in it.
    public static func weeksCovered(year: Int, month: Int, meetings: [CalendarDate]) -> [(week: CalendarDate, held: Int)] {
        let held = Dictionary(grouping: meetings.map(weekStart(of:)), by: { $0 }).mapValues(\.count)
        return weekStarts(year: year, month: month).map { ($0, held[$0] ?? 0) }
    }
}

extension CalendarDate {
    /// Days since 1970-01-01 (proleptic Gregorian).
    public var dayNumber: Int {
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public init(dayNumber z0: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        try! self.init(year: y, month: m, day: d)
    }

    public func adding(days: Int) -> CalendarDate { CalendarDate(dayNumber: dayNumber + days) }

    /// 0 for Monday … 6 for Sunday.
    public var weekdayIndex: Int {
        // 1970-01-01 was a Thursday (index 3).
        ((dayNumber % 7) + 7 + 3) % 7
    }
}
