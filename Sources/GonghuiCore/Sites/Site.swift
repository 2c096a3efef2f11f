/// Where a service site is hosted (驿站 sit in shops, bank branches and petrol stations).
public enum HostKind: String, CaseIterable, Codable, Sendable {
    case convenienceStore, bankBranch, petrolStation, estateAgency, enterprise, community, publicSpace, unionPremises, other
}

/// A site's state: `retired` sites leave the public finder but keep their history.
public enum SiteState: String, CaseIterable, Codable, Sendable {
    case open, temporarilyClosed, retired
}

public enum SiteRules {
    /// A site not verified for this many days is stale in the registry.
    public static let staleAfterDays = 90

    public static func isStale(verifiedOn: CalendarDate?, today: CalendarDate) -> Bool {
        guard let verifiedOn else { return true }
        return today.dayNumber - verifiedOn.dayNumber > staleAfterDays
    }

    public static let stars = 1...5
    public static let commentLength = 300

    /// Codes for data-defined site types and amenities: lower-case ASCII letters, digits and `-`,
    /// starting with a letter (`warm-station`, `microwave`), so they are safe in URLs and filters.
    public static func isCode(_ text: String) -> Bool {
        guard let first = text.first, first.isASCII, first.isLetter, (2...32).contains(text.count) else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }
    }

    /// Nearest-site queries answer at most this many, and 10 unless asked.
    public static let nearbyLimit = 1...50
    public static let nearbyDefaultLimit = 10
    /// A search radius in metres, when one is given.
    public static let radiusRange = 1...200_000
}
