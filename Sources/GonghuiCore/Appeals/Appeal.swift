/// How an appeal reached the union.
public enum AppealChannel: String, CaseIterable, Codable, Sendable {
    case hotline, app, web, walkIn, letter, other
}

/// 咨询, 求决, 意见建议.
public enum AppealCategory: String, CaseIterable, Codable, Sendable {
    case consultation, request, suggestion
}

public enum AppealUrgency: String, CaseIterable, Codable, Sendable {
    case normal, urgent
}

/// The deadline tiers: general, difficult, complex (working days each, configurable).
public enum AppealTier: String, CaseIterable, Codable, Sendable {
    case general, difficult, complex

    public var defaultWorkingDays: Int {
        switch self {
        case .general: 5
        case .difficult: 10
        case .complex: 15
        }
    }
}

public enum AppealOutcome: String, CaseIterable, Codable, Sendable {
    case adviceGiven, mediated, legalAid, referredInspection, referredArbitration, notSubstantiated
}

/// received → accepted → inProgress ⇄ waiting (deadline paused) → resolved → closed → reopened → inProgress …
public enum AppealState: String, CaseIterable, Codable, Sendable {
    case received, accepted, inProgress, waiting, resolved, closed, reopened

    /// Still with the union: counts for the queue, for deadlines and for escalation.
    public var isOpen: Bool { ![.resolved, .closed].contains(self) }
    /// The deadline runs (it is paused while waiting for the worker).
    public var clockRuns: Bool { isOpen && self != .waiting }
}

public enum AppealAction: String, CaseIterable, Codable, Sendable {
    case accept, start, pause, resolve, close, reopen, reroute, escalate, sendBack, assign, reply, note
}

public enum AppealRules {
    /// The state after `action`, or nil when the action does not apply in `state`.
    /// reroute, escalate, sendBack, assign, reply and note leave the state as it is (reroute and
    /// sendBack return the appeal to `received` at its new unit).
    public static func next(_ state: AppealState, _ action: AppealAction) -> AppealState? {
        switch (action, state) {
        case (.accept, .received): .accepted
        case (.start, .accepted), (.start, .waiting), (.start, .reopened): .inProgress
        case (.pause, .accepted), (.pause, .inProgress): .waiting
        case (.resolve, .accepted), (.resolve, .inProgress), (.resolve, .waiting), (.resolve, .reopened): .resolved
        case (.close, .resolved): .closed
        case (.reopen, .resolved), (.reopen, .closed): .reopened
        case (.reroute, _), (.sendBack, _): state.isOpen ? .received : nil
        case (.escalate, _), (.assign, _): state.isOpen ? state : nil
        case (.reply, _), (.note, _): state
        default: nil
        }
    }

    /// A resolution the worker neither confirms nor rejects closes after this many days.
    public static let autoCloseDays = 7
    /// The same phone and text again within this many seconds is the same appeal.
    public static let repeatWindow: Double = 600
}

/// Tracking numbers a worker reads out on the phone: the day (YYMMDD), a serial of the day and a
/// check digit (Luhn), shown as `261121-0042-7`; a mistyped digit is caught.
public enum TrackingNumber {
    public static func make(day: CalendarDate, serial: Int) -> String {
        let body = String(format: "%02d%02d%02d%04d", day.year % 100, day.month, day.day, serial % 10_000)
        return body + String(check(body))
    }

    public static func check(_ digits: String) -> Int {
        var sum = 0
        for (i, c) in digits.reversed().enumerated() {
            var d = Int(String(c)) ?? 0
            if i % 2 == 0 { d *= 2; if d > 9 { d -= 9 } }
            sum += d
        }
        return (10 - sum % 10) % 10
    }

    /// Digits only, check digit right; spaces, hyphens and full-width digits allowed.
    public static func parse(_ raw: String) -> String? {
        let digits = Normalize.halfWidth(raw).filter { $0.isASCII && $0.isNumber }
        guard digits.count == 11, check(String(digits.prefix(10))) == Int(String(digits.last!)) else { return nil }
        return digits
    }

    public static func display(_ n: String) -> String {
        guard n.count == 11 else { return n }
        return "\(n.prefix(6))-\(n.dropFirst(6).prefix(4))-\(n.suffix(1))"
    }
}
